// The export toolbar every view carries: SVG, PNG, CSV and JSON of what it shows.
import { downloadBlob, rowsToCsv, rowsToJson, svgToPngBlob, svgToString, type Row } from './export.ts';

export interface ExportSource {
  /** File name stem, e.g. "router-heatmap". */
  name: string;
  /** An SVG of the chart as it is now (may be built for the occasion). */
  svg(): SVGSVGElement | null;
  rows(): Row[];
}

export function createToolbar(source: ExportSource): HTMLDivElement {
  const bar = document.createElement('div');
  bar.className = 'mx-toolbar';
  const button = (label: string, title: string, action: () => void | Promise<void>) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.title = title;
    b.dataset.export = label.toLowerCase();
    b.addEventListener('click', () => { void action(); });
    bar.appendChild(b);
  };
  const svgText = () => { const s = source.svg(); return s ? { text: svgToString(s), w: +(s.getAttribute('width') ?? 0), h: +(s.getAttribute('height') ?? 0) } : null; };
  button('SVG', 'Download the chart as SVG', () => {
    const s = svgText();
    if (s) downloadBlob(new Blob([s.text], { type: 'image/svg+xml' }), `${source.name}.svg`);
  });
  button('PNG', 'Download the chart as PNG', async () => {
    const s = svgText();
    if (s) downloadBlob(await svgToPngBlob(s.text, s.w, s.h), `${source.name}.png`);
  });
  button('CSV', 'Download the data as CSV', () => downloadBlob(new Blob([rowsToCsv(source.rows())], { type: 'text/csv' }), `${source.name}.csv`));
  button('JSON', 'Download the data as JSON', () => downloadBlob(new Blob([rowsToJson(source.rows())], { type: 'application/json' }), `${source.name}.json`));
  return bar;
}

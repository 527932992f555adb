// An exported chart as a figure that reads on its own: its title, its legend (expert swatches and
// what the marks mean), the chart, and a caption with where it came from (the model and engine)
// and when. What the page shows around a chart (the notebook's prose, the header) does not travel
// with a PNG pasted into slides.
import { expertColor } from './palette.ts';

const SVG_NS = 'http://www.w3.org/2000/svg';
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif';
/** Average glyph width at 10 px, for wrapping lines without measuring. */
const CHAR_W = 5.6;

export interface FigureText {
  title: string;
  /** Experts in the legend (0: none). */
  experts: number;
  /** What the marks mean (the view's legend note). */
  note?: string;
  /** Whether the chart shows tokens the model wrote (in italics). */
  generated?: boolean;
  /** Where the data came from: the model and engine. */
  source?: string;
}

function el(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Words of `text` in lines of at most `width` pixels at `size` px. */
export function wrapText(text: string, width: number, size = 10): string[] {
  const max = Math.max(8, Math.floor(width / (CHAR_W * size / 10)));
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > max) { lines.push(line); line = word; } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** A standalone figure around `chart` (left as it is: the figure holds a copy). */
export function figureSvg(chart: SVGSVGElement, text: FigureText): SVGSVGElement {
  const cw = Number(chart.getAttribute('width')) || chart.viewBox.baseVal?.width || 400;
  const ch = Number(chart.getAttribute('height')) || chart.viewBox.baseVal?.height || 300;
  const W = Math.max(cw, 320) + 24, pad = 12;
  const fig = el('svg', { width: W, 'font-family': FONT }) as SVGSVGElement;
  fig.append(el('rect', { x: 0, y: 0, width: W, height: 0, fill: '#fff', class: 'mx-figure-bg' }));
  let y = pad;
  for (const line of wrapText(text.title || 'Mixscope chart', W - 2 * pad, 14)) {
    y += 16;
    fig.append(el('text', { x: pad, y, 'font-size': 14, 'font-weight': 600, fill: '#1b1e23' }, line));
  }
  y += 6;
  // Legend: one swatch per expert, wrapped.
  if (text.experts > 0) {
    let x = pad;
    y += 12;
    for (let e = 0; e < text.experts; e++) {
      const label = `E${e}`, w = 14 + label.length * CHAR_W + 10;
      if (x + w > W - pad) { x = pad; y += 14; }
      fig.append(el('rect', { x, y: y - 9, width: 10, height: 10, rx: 2, fill: expertColor(e, text.experts) }));
      fig.append(el('text', { x: x + 14, y, 'font-size': 10, fill: '#333' }, label));
      x += w;
    }
    y += 4;
  }
  const notes = [text.note, text.generated ? 'italic labels: tokens written by the model' : ''].filter(Boolean).join(' · ');
  for (const line of wrapText(notes, W - 2 * pad)) {
    y += 13;
    fig.append(el('text', { x: pad, y, 'font-size': 10, fill: '#555' }, line));
  }
  y += 8;
  const copy = chart.cloneNode(true) as SVGSVGElement;
  copy.setAttribute('x', String(pad));
  copy.setAttribute('y', String(y));
  copy.setAttribute('width', String(cw));
  copy.setAttribute('height', String(ch));
  copy.setAttribute('overflow', 'visible');
  fig.append(copy);
  y += ch + 10;
  const when = new Date().toISOString().slice(0, 10);
  const caption = `${text.source ? `From ${text.source}` : 'From Mixscope'}, ${when}. Made with Mixscope.`;
  for (const line of wrapText(caption, W - 2 * pad, 9)) {
    y += 12;
    fig.append(el('text', { x: pad, y, 'font-size': 9, fill: '#6b7280' }, line));
  }
  y += pad;
  fig.setAttribute('height', String(y));
  fig.querySelector('.mx-figure-bg')!.setAttribute('height', String(y));
  return fig;
}

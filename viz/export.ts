// Export of a view: rows as CSV/JSON, the chart as SVG/PNG. Pure string functions first, then
// the two browser-only steps (rasterising and downloading).

export type Row = Record<string, string | number>;

/** One CSV field (RFC 4180): quoted when it holds a comma, quote, line break or edge space. */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows to CSV: the header is the union of keys in order of first appearance; missing cells stay empty. */
export function rowsToCsv(rows: Row[]): string {
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) for (const k of Object.keys(row)) if (!seen.has(k)) { seen.add(k); columns.push(k); }
  const lines = [columns.map(csvCell).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export function rowsToJson(rows: Row[]): string {
  return JSON.stringify(rows, null, 2);
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * A standalone SVG document for `svg`: namespaces and an explicit size, so it opens the same in
 * another program. Views draw with presentation attributes, not page CSS, so nothing is lost.
 */
export function svgToString(svg: SVGSVGElement): string {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.setAttribute('xmlns', SVG_NS);
  clone.setAttribute('xmlns:xlink', 'http://www.w3.org/1999/xlink');
  const w = svg.getAttribute('width') ?? String(svg.viewBox.baseVal?.width ?? 0);
  const h = svg.getAttribute('height') ?? String(svg.viewBox.baseVal?.height ?? 0);
  clone.setAttribute('width', w);
  clone.setAttribute('height', h);
  return new XMLSerializer().serializeToString(clone);
}

/** Rasterise an SVG document (string) to a PNG blob at `scale` device pixels per CSS pixel. */
export async function svgToPngBlob(svgText: string, width: number, height: number, scale = 2): Promise<Blob> {
  const url = URL.createObjectURL(new Blob([svgText], { type: 'image/svg+xml;charset=utf-8' }));
  try {
    const img = new Image();
    await new Promise<void>((resolve, reject) => { img.onload = () => resolve(); img.onerror = () => reject(new Error('SVG could not be rasterised')); img.src = url; });
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('canvas.toBlob failed'))), 'image/png'));
  } finally {
    URL.revokeObjectURL(url);
  }
}

export function downloadBlob(blob: Blob, filename: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 0);
}

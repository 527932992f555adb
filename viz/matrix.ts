// An E x E matrix of experts as one image in an SVG (so it stays light at 128 x 128 and exports
// with the chart): cells painted on a canvas, put in the SVG as a data-URL <image>; expert labels
// along both axes in the experts' colours (every n-th one when E is large); the pointer's cell
// found from its position, for tooltips and clicks.
import type { Selection } from 'd3';
import { expertColor, textColorOn } from './palette.ts';

export interface MatrixSpec {
  /** Experts on each side. */
  n: number;
  /** Cell side in pixels. */
  cell: number;
  /** Colour of cell (row, col). */
  color(row: number, col: number): string;
  /** Tooltip lines of cell (row, col). */
  tooltip(row: number, col: number): string[];
  /** Text above the matrix. */
  title: string;
  /** `data-layer` of the row labels (picking a row expert opens that layer's dashboard). */
  rowLayer: number;
  colLayer: number;
  rowName: string;
  colName: string;
}

/** Room left of and above a matrix for labels and its title. */
export const MATRIX_MARGIN = { left: 34, top: 44 };

/** The largest cell side (2..22 px) that fits `n` cells into `width` pixels with the labels. */
export function matrixCell(width: number, n: number): number {
  return Math.max(2, Math.min(22, Math.floor((width - MATRIX_MARGIN.left - 4) / Math.max(1, n))));
}

/** About how wide a line of 10 px system-ui text is (for choosing a label that fits). */
export const textWidth = (s: string, bold = false) => s.length * (bold ? 6.2 : 5.7);

/** Label every `step`-th expert so that labels stay at least 11 px apart. */
export const labelStep = (cell: number) => Math.max(1, Math.ceil(11 / cell));

/** Draw the matrix into `g` (its top-left corner at the group's origin). */
export function drawMatrix(
  g: Selection<SVGGElement, unknown, null, undefined>, m: MatrixSpec,
  pointer: { show(lines: string[], e: MouseEvent): void; hide(): void; pick(row: number, col: number): void },
): void {
  const { n, cell } = m;
  const side = n * cell;
  const canvas = document.createElement('canvas');
  canvas.width = side; canvas.height = side;
  const ctx = canvas.getContext('2d')!;
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) { ctx.fillStyle = m.color(r, c); ctx.fillRect(c * cell, r * cell, cell, cell); }
  if (cell >= 6) {
    // Cell borders where cells are big enough to need them.
    ctx.strokeStyle = 'rgba(255,255,255,0.8)';
    ctx.lineWidth = 1;
    for (let i = 0; i <= n; i++) { ctx.beginPath(); ctx.moveTo(i * cell, 0); ctx.lineTo(i * cell, side); ctx.moveTo(0, i * cell); ctx.lineTo(side, i * cell); ctx.stroke(); }
  }
  const { left, top } = MATRIX_MARGIN;
  g.selectAll('text.mx-matrix-title').data([null]).join('text').attr('class', 'mx-matrix-title')
    .attr('x', left).attr('y', 9).attr('font-weight', 600).attr('fill', '#1b1e23').text(m.title);
  g.selectAll('text.mx-matrix-cols').data([null]).join('text').attr('class', 'mx-matrix-cols')
    // Under the title, so a long title never runs into it.
    .attr('x', left + side).attr('y', 22).attr('text-anchor', 'end').attr('fill', '#555').text(`${m.colName} →`);
  g.selectAll('text.mx-matrix-rows').data([null]).join('text').attr('class', 'mx-matrix-rows')
    .attr('transform', `translate(9,${top + side}) rotate(-90)`).attr('fill', '#555').text(`${m.rowName} →`);
  const image = g.selectAll<SVGImageElement, null>('image.mx-matrix').data([null]).join('image').attr('class', 'mx-matrix')
    .attr('x', left).attr('y', top).attr('width', side).attr('height', side).attr('preserveAspectRatio', 'none')
    .attr('style', 'image-rendering:pixelated').attr('href', canvas.toDataURL());
  const cellAt = (event: MouseEvent): [number, number] | null => {
    const box = (image.node() as SVGImageElement).getBoundingClientRect();
    const c = Math.floor(((event.clientX - box.left) / box.width) * n), r = Math.floor(((event.clientY - box.top) / box.height) * n);
    return r >= 0 && r < n && c >= 0 && c < n ? [r, c] : null;
  };
  image.on('mousemove', (event: MouseEvent) => { const rc = cellAt(event); if (rc) pointer.show(m.tooltip(...rc), event); else pointer.hide(); })
    .on('mouseleave', () => pointer.hide())
    .on('click', (event: MouseEvent) => { const rc = cellAt(event); if (rc) pointer.pick(...rc); });

  const step = labelStep(cell);
  const shown = Array.from({ length: n }, (_, e) => e).filter((e) => e % step === 0);
  const w = Math.max(cell, 12);
  const label = (cls: string, layer: number, place: (e: number) => string) => g.selectAll<SVGGElement, number>(`g.${cls}`).data(shown, String)
    .join((enter) => { const l = enter.append('g').attr('class', cls); l.append('rect'); l.append('text'); return l; })
    .attr('transform', (e) => place(e)).attr('data-expert', (e) => e).attr('data-layer', layer)
    .call((l) => l.select('rect').attr('width', w).attr('height', 11).attr('x', -w / 2).attr('y', -5.5).attr('rx', 2).attr('fill', (e) => expertColor(e, n)))
    .call((l) => l.select('text').attr('text-anchor', 'middle').attr('dy', '0.35em').attr('font-size', 8).attr('fill', (e) => textColorOn(expertColor(e, n))).text(String));
  label('mx-matrix-col', m.colLayer, (e) => `translate(${left + (e + 0.5) * cell},${top - 8})`);
  label('mx-matrix-row', m.rowLayer, (e) => `translate(${left - 2 - w / 2},${top + (e + 0.5) * cell})`);
}

/** Pick an expert from a cell click as any view does: the view's onExpert and an `mx-expert` event. */
export function pickExpert(root: Element | null, onExpert: ((p: { layer: number | null; expert: number }) => void) | null, layer: number, expert: number): void {
  onExpert?.({ layer, expert });
  root?.closest('.mx-view')?.dispatchEvent(new CustomEvent('mx-expert', { detail: { layer, expert }, bubbles: true }));
}

// Lens grid: the logit lens as positions (columns) x layers (rows). Each cell shows the token the
// residual stream after that layer would predict if it were the last, shaded by its probability;
// with `experts`, each layer also shows one row per chosen expert (what that expert writes, read
// the same way), banded in the expert's colour. Clicking a cell opens its full lens below the
// grid. New positions are drawn as they arrive, so a generation's lens grows live.
import { select } from 'd3';
import { expertColor, probabilityScale, textColorOn } from './palette.ts';
import { pieceToken, tokenLabel } from './token-text.ts';
import { mountView, BASE_DEFAULTS, type BaseOptions, type View, type ViewState } from './view.ts';
import type { LensData, LensLayer } from './research-types.ts';

export interface LensGridOptions extends BaseOptions {
  /** Show each chosen expert's lens under its layer. */
  experts: boolean;
  /** The cell whose full lens is shown under the grid (null: none). */
  selected: { layer: number; position: number } | null;
  /** Width of one position's column in pixels. */
  cellWidth: number;
}

type State = ViewState<LensData, LensGridOptions>;
const M = { top: 30, left: 44 };
const RH = 18, EH = 14;

/** A vocabulary piece as a cell shows it: SentencePiece's ▁ as a visible space mark. */
export function pieceLabel(piece: string, max = 8): string {
  return tokenLabel(pieceToken(piece), max);
}

/** Rows of the grid, top to bottom: each layer, then (with experts) its K expert rows. */
export function lensRows(layers: readonly LensLayer[], experts: boolean): { layer: number; k: number | null; y: number; h: number }[] {
  const out: { layer: number; k: number | null; y: number; h: number }[] = [];
  let y = M.top;
  layers.forEach((L, layer) => {
    out.push({ layer, k: null, y, h: RH });
    y += RH;
    const K = experts ? Math.max(0, ...L.experts.map((row) => row.length)) : 0;
    for (let k = 0; k < K; k++) { out.push({ layer, k, y, h: EH }); y += EH; }
  });
  return out;
}

type Column = SVGGElement & { mxKey?: unknown[] };

function draw(s: State): void {
  const { data, options } = s;
  const T = data.tokens.length, L = data.layers.length, cw = options.cellWidth;
  const rows = lensRows(data.layers, options.experts);
  const height = (rows.at(-1)?.y ?? M.top) + (rows.at(-1)?.h ?? 0) + 4;
  const width = M.left + T * cw + 4;
  const shade = probabilityScale(1);
  const E = Math.max(8, ...data.layers.flatMap((Ly) => Ly.experts.flatMap((row) => row.map((x) => x.expert + 1))));
  const svg = select(s.body).selectAll<SVGSVGElement, null>('svg').data([null]).join('svg')
    .attr('width', width).attr('height', height).attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);
  const labels = svg.selectAll<SVGGElement, null>('g.mx-lens-labels').data([null]).join('g').attr('class', 'mx-lens-labels');
  labels.selectAll<SVGTextElement, (typeof rows)[number]>('text').data(rows, (r) => `${r.layer}:${r.k}`).join('text')
    .attr('x', M.left - 4).attr('y', (r) => r.y + r.h / 2).attr('dy', '0.35em').attr('text-anchor', 'end')
    .attr('fill', (r) => (r.k === null ? '#1b1e23' : '#666')).attr('font-size', (r) => (r.k === null ? 10 : 8))
    .attr('font-weight', (r) => (r.k === null ? 600 : 400)).text((r) => (r.k === null ? `L${r.layer}` : `#${r.k + 1}`));

  const cols = svg.selectAll<SVGGElement, number>('g.mx-lens-col').data(Array.from({ length: T }, (_, t) => t), String)
    .join('g').attr('class', 'mx-lens-col').attr('transform', (t) => `translate(${M.left + t * cw},0)`);
  cols.each(function (t) {
    const col = this as Column;
    // A column is drawn again only when one of its inputs is a new object (growing data appends).
    const key = [data.tokens[t], options.experts, cw, ...data.layers.map((Ly) => Ly.resid[t]), ...data.layers.map((Ly) => Ly.experts[t])];
    if (col.mxKey && col.mxKey.length === key.length && col.mxKey.every((x, i) => x === key[i])) return;
    col.mxKey = key;
    const g = select(col);
    const token = data.tokens[t];
    g.selectAll('text.mx-lens-input').data([null]).join('text').attr('class', 'mx-lens-input')
      .attr('x', cw / 2).attr('y', M.top - 10).attr('text-anchor', 'middle').attr('fill', token.generated ? '#1d4ed8' : '#1b1e23')
      .attr('font-weight', 600).text(pieceLabel(token.piece, Math.floor(cw / 6.5)));
    const cells = rows.map((r) => {
      const Ly = data.layers[r.layer];
      if (r.k === null) { const top = Ly.resid[t]?.[0]; return { r, text: top ? pieceLabel(top.piece, Math.floor(cw / 6)) : '', fill: top ? shade(top.prob) : '#fff', expert: null as number | null }; }
      const x = Ly.experts[t]?.[r.k];
      return { r, text: x ? pieceLabel(x.top[0]?.piece ?? '', Math.floor(cw / 6)) : '', fill: x ? expertColor(x.expert, E) : '#fff', expert: x ? x.expert : null };
    });
    g.selectAll<SVGGElement, (typeof cells)[number]>('g.mx-lens-cell').data(cells, (c) => `${c.r.layer}:${c.r.k}`)
      .join((enter) => { const c = enter.append('g').attr('class', 'mx-lens-cell'); c.append('rect'); c.append('text'); return c; })
      .attr('transform', (c) => `translate(0,${c.r.y})`)
      .attr('data-layer', (c) => c.r.layer).attr('data-position', token.position)
      .attr('data-expert', (c) => c.expert)
      .call((c) => c.select('rect').attr('width', cw - 1).attr('height', (d) => d.r.h - 1).attr('fill', (d) => d.fill)
        .attr('fill-opacity', (d) => (d.r.k === null ? 1 : 0.35)).attr('stroke', (d) => (d.r.k === null ? 'none' : d.fill)))
      .call((c) => c.select('text').attr('x', cw / 2).attr('y', (d) => d.r.h / 2).attr('dy', '0.35em').attr('text-anchor', 'middle')
        .attr('font-size', (d) => (d.r.k === null ? 10 : 8)).attr('xml:space', 'preserve')
        .attr('fill', (d) => (d.r.k === null ? textColorOn(d.fill) : '#1b1e23')).text((d) => d.text));
  });
  // One listener for every cell: tooltips and the selection read the cell's datum.
  if (!svg.attr('data-listening')) {
    svg.attr('data-listening', '1')
      .on('mouseover mousemove', (event: MouseEvent) => {
        const cell = (event.target as Element).closest('g.mx-lens-cell') as (SVGGElement & { __data__?: { r: { layer: number; k: number | null } } }) | null;
        const col = cell?.parentNode as (SVGGElement & { __data__?: number }) | null;
        if (!cell?.__data__ || col?.__data__ === undefined) return;
        s.hover(s.data.tokens[col.__data__].position);
        s.tooltip.show(cellTooltip(s.data, cell.__data__.r.layer, cell.__data__.r.k, col.__data__), event);
      })
      .on('click', (event: MouseEvent) => {
        const cell = (event.target as Element).closest('g.mx-lens-cell') as (SVGGElement & { __data__?: { r: { layer: number } } }) | null;
        const col = cell?.parentNode as (SVGGElement & { __data__?: number }) | null;
        if (!cell?.__data__ || col?.__data__ === undefined) return;
        s.options = { ...s.options, selected: { layer: cell.__data__.r.layer, position: col.__data__ } };
        drawDetail(s);
      });
  }
  svg.attr('data-layers', L).attr('data-tokens', T);
  drawDetail(s);
}

function cellTooltip(d: LensData, layer: number, k: number | null, t: number): string[] {
  const tok = d.tokens[t];
  const head = `${JSON.stringify(tok.text)} position ${tok.position} · layer ${layer}`;
  if (k === null) return [head, ...(d.layers[layer].resid[t] ?? []).map((x) => `${pieceLabel(x.piece, 16)}  ${(100 * x.prob).toFixed(1)}%`)];
  const x = d.layers[layer].experts[t]?.[k];
  return x ? [head, `expert E${x.expert} (weight ${x.weight.toFixed(3)}) writes:`, ...x.top.map((y) => `${pieceLabel(y.piece, 16)}  logit ${y.logit.toFixed(2)}`)] : [head];
}

/** The selected cell's whole lens: the residual's top tokens and each chosen expert's. */
function drawDetail(s: State): void {
  const sel = s.options.selected;
  const t = sel ? s.data.tokens.findIndex((tok) => tok.position === sel.position) : -1;
  const Ly = sel && t >= 0 ? s.data.layers[sel.layer] : undefined;
  const panel = select(s.body).selectAll<HTMLDivElement, null>('div.mx-lens-detail').data(Ly ? [null] : []).join('div').attr('class', 'mx-lens-detail')
    .style('display', 'flex').style('flex-wrap', 'wrap').style('gap', '4px 18px').style('margin-top', '6px').style('font-size', '11px');
  const cell = Ly && sel ? lensRows(s.data.layers, s.options.experts).find((r) => r.layer === sel.layer && r.k === null) : undefined;
  outline(s, 'selected', cell ? { t, y: cell.y, h: cell.h } : null);
  if (!Ly || !sel) return;
  const E = Math.max(8, ...s.data.layers.flatMap((l) => l.experts.flatMap((row) => row.map((x) => x.expert + 1))));
  const blocks = [
    { title: `layer ${sel.layer}, position ${sel.position}: residual stream`, color: '#1b1e23', expert: null as number | null, lines: (Ly.resid[t] ?? []).map((x) => `${pieceLabel(x.piece, 18)}  ${(100 * x.prob).toFixed(2)}%`) },
    ...(Ly.experts[t] ?? []).map((x) => ({ title: `E${x.expert} · weight ${x.weight.toFixed(3)}`, color: expertColor(x.expert, E), expert: x.expert as number | null, lines: x.top.map((y) => `${pieceLabel(y.piece, 18)}  ${y.logit.toFixed(2)}`) })),
  ];
  const b = panel.selectAll<HTMLDivElement, (typeof blocks)[number]>('div.mx-lens-block').data(blocks).join((enter) => {
    const d = enter.append('div').attr('class', 'mx-lens-block');
    d.append('div').attr('class', 'mx-lens-block-title').style('font-weight', '600');
    d.append('pre').style('margin', '0').style('font', '11px/1.35 ui-monospace, monospace');
    return d;
  }).attr('data-layer', sel.layer).attr('data-expert', (x) => x.expert).style('border-left', (x) => `4px solid ${x.color}`).style('padding-left', '5px');
  b.select('div.mx-lens-block-title').text((x) => x.title);
  b.select('pre').text((x) => x.lines.join('\n'));
}

/**
 * An outline over the grid (no pointer events, above every column): `name` 'hover' frames a
 * whole column, 'selected' the layer cell whose full lens is open. Null removes it.
 */
function outline(s: State, name: 'hover' | 'selected', box: { t: number; y: number; h: number } | null): void {
  const cw = s.options.cellWidth;
  select(s.body).select('svg').selectAll<SVGRectElement, null>(`rect.mx-lens-${name}`).data(box ? [null] : []).join('rect')
    .attr('class', `mx-lens-${name}`).attr('pointer-events', 'none').attr('fill', 'none')
    .attr('stroke', name === 'hover' ? '#111' : '#d55e00').attr('stroke-width', name === 'hover' ? 1.5 : 2.5)
    .attr('x', box ? M.left + box.t * cw - 0.5 : 0).attr('y', box ? box.y - 0.5 : 0).attr('width', cw).attr('height', box ? box.h : 0)
    .raise();
}

function highlight(s: State, position: number | null): void {
  const t = position === null ? -1 : s.data.tokens.findIndex((tok) => tok.position === position);
  const rows = lensRows(s.data.layers, s.options.experts), last = rows.at(-1);
  outline(s, 'hover', t >= 0 && last ? { t, y: M.top, h: last.y + last.h - M.top } : null);
}

/** Swatches for the experts of the expert rows, up to 16 (past that the rows name their expert). */
function legendExperts(d: LensData): number {
  const E = Math.max(8, ...d.layers.flatMap((l) => l.experts.flatMap((row) => row.map((x) => x.expert + 1))));
  return E <= 16 ? E : 0;
}

export function createLensGrid(data: LensData, options: Partial<LensGridOptions> = {}): View<LensData, LensGridOptions> {
  const o: LensGridOptions = { ...BASE_DEFAULTS, title: 'Logit lens', experts: false, selected: null, cellWidth: 58, ...options };
  return mountView<LensData, LensGridOptions>({
    name: 'lens-grid',
    hint: 'No lens yet: run mixscope.lens(text), or generate with {lens: 5}.',
    isEmpty: (d) => !d || d.tokens.length === 0 || d.layers.length === 0 || d.layers[0].resid.length === 0,
    legend: (d, opt) => ({ experts: opt.experts && d.layers[0].experts.length ? legendExperts(d) : 0, note: `cell: the top token read from the residual stream after each layer, shaded by its probability (white 0 → blue 1)${opt.experts ? ' · #k rows: what each chosen expert writes' : ''} · click a cell for its full lens` }),
    draw, highlight,
    rows: (d) => d.layers.flatMap((Ly, layer) => d.tokens.flatMap((tok, t) => [
      ...(Ly.resid[t] ?? []).map((x, rank) => ({ layer, position: tok.position, input: tok.text, source: 'resid', expert: '', weight: '', rank: rank + 1, id: x.id, piece: x.piece, prob: x.prob, logit: '' })),
      ...(Ly.experts[t] ?? []).flatMap((x) => x.top.map((y, rank) => ({ layer, position: tok.position, input: tok.text, source: 'expert', expert: x.expert, weight: x.weight, rank: rank + 1, id: y.id, piece: y.piece, prob: '', logit: y.logit }))),
    ])),
    svg: (s) => s.body.querySelector('svg'),
  }, data, o);
}

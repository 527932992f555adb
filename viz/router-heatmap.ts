// Router heatmap: tokens (rows) x experts (columns), cell colour the router probability, the
// chosen top-k marked with a dot in the expert's colour (larger for the first choice).
import { select, type Selection } from 'd3';
import { routerScale, textColorOn } from './palette.ts';
import { expertPaint, paintKey, type ExpertPaint } from './many-experts.ts';
import { tokenLabel } from './token-text.ts';
import { choices, clampLayer, denseLayerNote, probsOf, unchangedPrefix, type DrawnPrefix } from './routing.ts';
import { mountView, BASE_DEFAULTS, type BaseOptions, type View, type ViewState } from './view.ts';
import type { RoutingData, TokenInfo } from './types.ts';

export interface RouterHeatmapOptions extends BaseOptions {
  layer: number;
  /** Height of one token row in pixels. */
  rowHeight: number;
}

type State = ViewState<RoutingData, RouterHeatmapOptions>;
interface RowDatum { token: TokenInfo; t: number; probs: Float32Array; chosen: { expert: number; weight: number }[] }
interface CellDatum { row: RowDatum; e: number; p: number; rank: number }

const M = { top: 30, right: 8, bottom: 4, left: 96 };
const HEAT = routerScale();

/**
 * Column width: the experts share what the labels leave, within readable bounds (never under
 * 12 px: 128 experts scroll sideways rather than shrink; hover names each cell).
 */
export function heatmapLayout(width: number, E: number, T: number, rowHeight: number) {
  const cell = Math.max(12, Math.min(48, Math.floor((width - M.left - M.right) / Math.max(1, E))));
  return { cell, width: M.left + cell * E + M.right, height: M.top + T * rowHeight + M.bottom };
}

function rowsOf(data: RoutingData, layer: number): RowDatum[] {
  const L = data.layers[clampLayer(data, layer)];
  return data.tokens.map((token, t) => ({ token, t, probs: probsOf(L, data.experts, t), chosen: choices(L, data.topK, t) }));
}

/** The rows' svg, with its drawn rows by token index and what they were drawn from. */
type Root = SVGSVGElement & { mxRows?: Map<number, Row>; mxDrawn?: DrawnPrefix; mxScroll?: number };
type Row = SVGGElement & { __data__?: RowDatum };

/**
 * Rows drawn beyond the visible part of the scroll box, above and below. Only rows near what the
 * reader sees exist in the DOM, in an svg of fixed size that slides along a spacer as tall as all
 * the rows: a frame of a long generation touches a bounded number of nodes (a few dozen rows)
 * whatever the number of tokens, and neither the svg nor its paint grows with them.
 */
const MARGIN_ROWS = 40;

/** The rows [first, first + capacity) to keep drawn, from the scroll offset the view last saw (no layout read). */
export function windowRows(T: number, rowHeight: number, scrollTop: number, viewHeight: number, margin = MARGIN_ROWS): { first: number; capacity: number } {
  if (!Number.isFinite(viewHeight)) return { first: 0, capacity: T };
  const capacity = Math.ceil(viewHeight / rowHeight) + 2 * margin;
  const first = Math.max(0, Math.min(Math.floor((scrollTop - M.top) / rowHeight) - margin, T - capacity));
  return { first, capacity };
}

/** Rows (re)drawn per call at most: a few ms of work, and as much to lay out and paint, on a slow machine. */
const ROWS_PER_DRAW = 4;

function draw(s: State): boolean {
  const { data, options } = s;
  const E = data.experts, K = data.topK, rh = options.rowHeight, layer = clampLayer(data, options.layer);
  const T = data.tokens.length;
  const { cell, width } = heatmapLayout(options.width, E, T, rh);
  // The expert axis stays in sight above the rows while they scroll (flex order puts it first;
  // the rows' svg comes first in the document, the one a caller finds with querySelector).
  const frame = select(s.body).selectAll<HTMLDivElement, null>('div.mx-heat').data([null]).join('div').attr('class', 'mx-heat');
  const spacer = frame.selectAll<HTMLDivElement, null>('div.mx-heat-rows').data([null]).join('div').attr('class', 'mx-heat-rows')
    .style('width', `${width}px`).style('height', `${T * rh + M.bottom}px`);
  const axisSvg = frame.selectAll<SVGSVGElement, null>('svg.mx-heat-axis').data([null]).join('svg').attr('class', 'mx-heat-axis')
    .attr('width', width).attr('height', M.top).attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);
  const svg = spacer.selectAll<SVGSVGElement, null>('svg').data([null]).join('svg')
    .attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);
  const root = svg.node() as Root;
  const paint = expertPaint(data, null);
  const key = `${E}:${K}:${cell}:${rh}:${width}:${layer}:${paintKey(paint)}`;
  if (!root.mxRows) {
    // One listener for every cell: rows stream in by the hundred, and each cell would cost one.
    svg.on('mouseover mousemove', (event: MouseEvent) => {
      const target = event.target as SVGElement & { __data__?: CellDatum };
      if (target.classList.contains('mx-cell') && target.__data__) s.tooltip.show(cellTooltip(target.__data__, s.options.layer), event);
    });
    // Scrolling brings other rows near the visible part: drawn at the next frame. The offset is
    // kept here so that drawing never reads layout (a forced layout in a frame of many views).
    s.body.addEventListener('scroll', () => { root.mxScroll = s.body.scrollTop; s.redraw(); }, { passive: true });
  }
  drawAxis(axisSvg, E, cell, layer, root.mxDrawn?.key !== key, paint);

  const { first, capacity } = windowRows(T, rh, root.mxScroll ?? 0, options.maxHeight);
  const last = Math.min(T, first + capacity);
  // Rows keep their place (y = t * rowHeight); the svg shows [first, first + capacity) of them.
  const place = `${first}:${capacity}:${width}:${rh}`;
  if (root.dataset.place !== place) {
    root.dataset.place = place;
    svg.attr('width', width).attr('height', capacity * rh).attr('viewBox', `0 ${first * rh} ${width} ${capacity * rh}`).style('top', `${first * rh}px`);
  }

  // Rows of tokens drawn before from the same data are left alone: a step draws its new rows only.
  const L = data.layers[layer];
  const rows = (root.mxRows ??= new Map());
  const keep = unchangedPrefix(root.mxDrawn, data.tokens, [L.indices, L.weights, L.probs], key);
  for (const [t, g] of rows) if (t < first || t >= last) { g.remove(); rows.delete(t); }
  // Drawn rows are one run [a, b) of tokens; new rows above it go before it, the rest after.
  let a = last;
  for (const t of rows.keys()) a = Math.min(a, t);
  const above = rows.get(a) ?? null;
  let drawn = 0;
  for (let t = first; t < last; t++) {
    let g = rows.get(t);
    if (g && t < keep) continue;
    if (!g) { g = newRow(s, root, t < a ? above : null); rows.set(t, g); }
    drawRow(s, g, t, cell, width, paint);
    // A view far behind (just come into sight, a new layer) catches up a slice at a time.
    if (++drawn === ROWS_PER_DRAW && t + 1 < last) {
      root.mxDrawn = { tokens: data.tokens.slice(0, t + 1), arrays: [L.indices, L.weights, L.probs], key };
      return true;
    }
  }
  root.mxDrawn = { tokens: data.tokens, arrays: [L.indices, L.weights, L.probs], key };
  return false;
}

function drawAxis(svg: Selection<SVGSVGElement, null, HTMLDivElement, unknown>, E: number, cell: number, layer: number, changed: boolean, paint: ExpertPaint): void {
  const axis = svg.selectAll<SVGGElement, null>('g.mx-x-axis').data([null]).join('g').attr('class', 'mx-x-axis');
  if (!changed) return;
  const ticks = axis.selectAll<SVGGElement, number>('g.mx-tick').data(Array.from({ length: E }, (_, e) => e), (e) => String(e))
    .join((enter) => { const g = enter.append('g').attr('class', 'mx-tick'); g.append('rect'); g.append('text'); return g; })
    .attr('transform', (e) => `translate(${M.left + e * cell},0)`);
  // Many experts: each column's swatch in its paint, a number every 8th expert above the swatches.
  ticks.select('rect').attr('x', 1).attr('y', 4).attr('width', cell - 2).attr('height', 14).attr('rx', 2).attr('fill', (e) => paint.color(e));
  ticks.select('text').attr('x', paint.many ? 0 : cell / 2).attr('y', paint.many ? -2 : 11).attr('dy', paint.many ? 0 : '0.35em').attr('text-anchor', paint.many ? 'start' : 'middle')
    .attr('fill', (e) => (paint.many ? '#555' : textColorOn(paint.color(e)))).attr('font-weight', paint.many ? 400 : 600)
    .text((e) => (!paint.many ? `E${e}` : e % 8 === 0 ? String(e) : ''));
  axis.attr('transform', paint.many ? 'translate(0,8)' : null);
  axis.selectAll('text.mx-axis-title').data([null]).join('text').attr('class', 'mx-axis-title')
    .attr('x', M.left - 6).attr('y', 11).attr('dy', '0.35em').attr('text-anchor', 'end').attr('fill', '#555')
    .text(`layer ${layer}`);
}

function newRow(s: State, parent: SVGElement, before: Row | null): Row {
  const row = select(parent).insert('g', () => before).attr('class', 'mx-row');
  row.append('rect').attr('class', 'mx-row-bg').attr('fill', 'transparent');
  row.append('text').attr('class', 'mx-row-label').attr('text-anchor', 'end').attr('dy', '0.35em');
  row.on('mouseenter', function (this: Row) { s.hover(this.__data__!.token.position); });
  return row.node() as Row;
}

/** Token t's row: its place and label, then its cells (each skipped when its inputs are unchanged). */
function drawRow(s: State, g: Row, t: number, cell: number, width: number, paint: ExpertPaint): void {
  const { data, options } = s;
  const E = data.experts, rh = options.rowHeight;
  const L = data.layers[clampLayer(data, options.layer)];
  const token = data.tokens[t];
  const d: RowDatum = { token, t, probs: probsOf(L, E, t), chosen: choices(L, data.topK, t) };
  g.__data__ = d;
  const node = g as Drawn;
  const place = `${t}:${rh}:${width}:${token.id}:${token.text}:${token.generated}:${token.position}`;
  if (node.mxPlace !== place) {
    node.mxPlace = place;
    const sel = select(g).attr('transform', `translate(0,${t * rh})`).attr('data-position', token.position);
    sel.select('rect.mx-row-bg').attr('x', 0).attr('width', width - M.right).attr('height', rh);
    sel.select<SVGTextElement>('text.mx-row-label').attr('x', M.left - 6).attr('y', rh / 2)
      .attr('fill', '#1b1e23').attr('font-style', token.generated ? 'italic' : null)
      .text(`${token.position}  ${tokenLabel(token, 11)}`);
  }
  drawCells(s, node, d, cell, rh, HEAT, paint);
}

/** The whole heatmap, axis and every row, for export: built for the occasion. */
function fullSvg(s: State): SVGSVGElement | null {
  const axis = s.body.querySelector('svg.mx-heat-axis g.mx-x-axis');
  if (!axis) return null;
  const T = s.data.tokens.length;
  const { cell, width, height } = heatmapLayout(s.options.width, s.data.experts, T, s.options.rowHeight);
  const svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg'))
    .attr('width', width).attr('height', height).attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);
  svg.node()!.append(axis.cloneNode(true));
  const rows = svg.append('g').attr('transform', `translate(0,${M.top})`).node()!;
  const paint = expertPaint(s.data, null);
  for (let t = 0; t < T; t++) drawRow(s, newRow(s, rows, null), t, cell, width, paint);
  return svg.node();
}

/** What a row's cells depend on (rows whose inputs are unchanged are skipped), and its marks. */
type Drawn = SVGGElement & {
  mxDrawn?: { layout: string; probs: Float32Array; chosen: string }; mxPlace?: string;
  mxCells?: (SVGRectElement & { __data__?: CellDatum })[]; mxHalos?: SVGCircleElement[]; mxDots?: SVGCircleElement[];
};

const SVG_NS = 'http://www.w3.org/2000/svg';
function mark<K extends 'rect' | 'circle'>(parent: Element, tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  parent.appendChild(el);
  return el;
}

/**
 * A row's E cells and its K chosen dots, written with plain DOM calls: rows are drawn by the
 * dozen per frame, and these are most of the page's SVG nodes. The marks are made once per row
 * and only their changing attributes are written afterwards.
 */
function drawCells(s: State, node: Drawn, row: RowDatum, cell: number, rh: number, color: (p: number) => string, paint: ExpertPaint): void {
  const E = s.data.experts, K = row.chosen.length;
  const layout = `${cell}:${rh}:${E}:${K}:${row.token.id}:${row.token.text}:${paintKey(paint)}`, chosen = row.chosen.map((c) => `${c.expert}:${c.weight}`).join();
  const prev = node.mxDrawn;
  if (prev && prev.layout === layout && prev.chosen === chosen && prev.probs.length === row.probs.length && prev.probs.every((p, e) => p === row.probs[e])) return;
  const relayout = prev?.layout.split(':').slice(0, 4).join() !== layout.split(':').slice(0, 4).join();
  node.mxDrawn = { layout, probs: row.probs.slice(), chosen };
  if (relayout || !node.mxCells) {
    for (const el of [...(node.mxCells ?? []), ...(node.mxHalos ?? []), ...(node.mxDots ?? [])]) el.remove();
    node.mxCells = Array.from({ length: E }, (_, e) => mark(node, 'rect', { class: 'mx-cell', x: M.left + e * cell, y: 0, width: cell, height: rh, stroke: '#fff', 'stroke-width': 1, 'data-expert': e }));
    // A white ring under each dot keeps every expert's colour readable on any cell, dark or light.
    node.mxHalos = Array.from({ length: K }, () => mark(node, 'circle', { class: 'mx-halo', 'pointer-events': 'none', fill: '#fff', cy: rh / 2 }));
    node.mxDots = Array.from({ length: K }, (_, k) => mark(node, 'circle', { class: 'mx-choice', 'pointer-events': 'none', stroke: '#111', 'stroke-width': k === 0 ? 1 : 0.6, cy: rh / 2, 'data-rank': k }));
  }
  row.probs.forEach((p, e) => {
    const rect = node.mxCells![e];
    rect.__data__ = { row, e, p, rank: row.chosen.findIndex((c) => c.expert === e) };
    rect.setAttribute('fill', color(p));
    rect.setAttribute('data-prob', p.toFixed(4));
  });
  row.chosen.forEach((c, k) => {
    const r = Math.max(2, Math.min(rh / 2 - 2, k === 0 ? 4.5 : 3)), cx = String(M.left + c.expert * cell + cell / 2);
    const halo = node.mxHalos![k], dot = node.mxDots![k];
    halo.setAttribute('cx', cx); halo.setAttribute('r', String(r + 1.5));
    dot.setAttribute('cx', cx); dot.setAttribute('r', String(r));
    dot.setAttribute('fill', paint.color(c.expert)); dot.setAttribute('data-expert', String(c.expert));
  });
}

function cellTooltip(d: CellDatum, layer: number): string[] {
  const lines = [`${JSON.stringify(d.row.token.text)}  position ${d.row.token.position}`, `layer ${layer} · E${d.e}: p = ${d.p.toFixed(3)}`];
  if (d.rank >= 0) lines.push(`chosen #${d.rank + 1}, weight ${d.row.chosen[d.rank].weight.toFixed(3)}`);
  return lines;
}

/** Only the rows whose state changes are touched: the one hovered before and the one hovered now. */
function highlight(s: State, position: number | null): void {
  const body = select(s.body);
  body.selectAll<SVGGElement, RowDatum>('g.mx-row.mx-hover').filter((d) => d.token.position !== position)
    .classed('mx-hover', false).select('rect.mx-row-bg').attr('fill', 'transparent');
  if (position === null) return;
  body.selectAll<SVGGElement, RowDatum>(`g.mx-row[data-position="${position}"]:not(.mx-hover)`)
    .classed('mx-hover', true).select('rect.mx-row-bg').attr('fill', '#fde68a');
}

export function createRouterHeatmap(data: RoutingData, options: Partial<RouterHeatmapOptions> = {}): View<RoutingData, RouterHeatmapOptions> {
  const o: RouterHeatmapOptions = { ...BASE_DEFAULTS, title: 'Router probabilities', layer: 0, rowHeight: 14, ...options };
  return mountView<RoutingData, RouterHeatmapOptions>({
    name: 'router-heatmap',
    hint: (d, opt) => (d.tokens.length && d.layers.length && denseLayerNote(d, opt.layer)) || 'No tokens yet: router probabilities appear here as tokens arrive.',
    isEmpty: (d, opt) => d.tokens.length === 0 || d.layers.length === 0 || denseLayerNote(d, opt.layer) !== null,
    legend: (d) => {
      const paint = expertPaint(d, null);
      const note = `cell: router probability (white 0 → dark 1) · dot: chosen expert (large = 1st)${paint.many ? ' · coloured: the most used experts over all layers; hover a cell for its expert' : ''}`;
      return { experts: d.experts, paint, note, generated: d.tokens.some((t) => t.generated) };
    },
    draw, highlight,
    rows: (d, opt) => d.layers.length === 0 || denseLayerNote(d, opt.layer) ? [] : rowsOf(d, opt.layer).flatMap((r) => Array.from(r.probs, (p, e) => {
      const rank = r.chosen.findIndex((c) => c.expert === e);
      return { position: r.token.position, text: r.token.text, layer: clampLayer(d, opt.layer), expert: e, prob: p, rank: rank + 1, weight: rank >= 0 ? r.chosen[rank].weight : 0 };
    })),
    svg: fullSvg,
  }, data, o);
}

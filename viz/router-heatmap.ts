// Router heatmap: tokens (rows) x experts (columns), cell colour the router probability, the
// chosen top-k marked with a dot in the expert's colour (larger for the first choice).
import { select, type Selection } from 'd3';
import { probabilityScale, textColorOn } from './palette.ts';
import { expertPaint, paintKey, type ExpertPaint } from './many-experts.ts';
import { tokenLabel } from './token-text.ts';
import { choices, clampLayer, probsOf, unchangedPrefix, type DrawnPrefix } from './routing.ts';
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

/** The heatmap's svg, with its row elements by token index and what they were drawn from. */
type Root = SVGSVGElement & { mxRows?: Row[]; mxDrawn?: DrawnPrefix };
type Row = SVGGElement & { __data__?: RowDatum };

function draw(s: State): void {
  const { data, options } = s;
  const E = data.experts, K = data.topK, rh = options.rowHeight, layer = clampLayer(data, options.layer);
  const T = data.tokens.length;
  const { cell, width, height } = heatmapLayout(options.width, E, T, rh);
  const color = probabilityScale(1);
  const svg = select(s.body).selectAll<SVGSVGElement, null>('svg').data([null]).join('svg')
    .attr('width', width).attr('height', height).attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);
  const root = svg.node() as Root;
  const paint = expertPaint(data, null);
  const key = `${E}:${K}:${cell}:${rh}:${width}:${layer}:${paintKey(paint)}`;
  if (!root.mxRows) {
    // One listener for every cell: rows stream in by the hundred, and each cell would cost one.
    svg.on('mouseover mousemove', (event: MouseEvent) => {
      const target = event.target as SVGElement & { __data__?: CellDatum };
      if (target.classList.contains('mx-cell') && target.__data__) s.tooltip.show(cellTooltip(target.__data__, s.options.layer), event);
    });
  }

  const axis = svg.selectAll<SVGGElement, null>('g.mx-x-axis').data([null]).join('g').attr('class', 'mx-x-axis');
  if (root.mxDrawn?.key !== key) {
    const ticks = axis.selectAll<SVGGElement, number>('g.mx-tick').data(Array.from({ length: E }, (_, e) => e), (e) => String(e))
      .join((enter) => { const g = enter.append('g').attr('class', 'mx-tick'); g.append('rect'); g.append('text'); return g; })
      .attr('transform', (e) => `translate(${M.left + e * cell},0)`);
    // Many experts: narrow columns, a number every 8th expert (and on each focus expert's tick as its title).
    ticks.select('rect').attr('x', cell > 6 ? 1 : 0).attr('y', 4).attr('width', Math.max(1, cell - (cell > 6 ? 2 : 1))).attr('height', 14).attr('rx', cell > 6 ? 2 : 0).attr('fill', (e) => paint.color(e));
    ticks.select('text').attr('x', paint.many ? 0 : cell / 2).attr('y', paint.many ? -2 : 11).attr('dy', paint.many ? 0 : '0.35em').attr('text-anchor', paint.many ? 'start' : 'middle')
      .attr('fill', (e) => (paint.many ? '#555' : textColorOn(paint.color(e)))).attr('font-weight', paint.many ? 400 : 600)
      .text((e) => (!paint.many ? `E${e}` : e % 8 === 0 ? String(e) : ''));
    if (paint.many) svg.selectAll('g.mx-x-axis').attr('transform', 'translate(0,8)');
    axis.selectAll('text.mx-axis-title').data([null]).join('text').attr('class', 'mx-axis-title')
      .attr('x', M.left - 6).attr('y', 11).attr('dy', '0.35em').attr('text-anchor', 'end').attr('fill', '#555')
      .text(`layer ${layer}`);
  }

  // Rows of tokens drawn before from the same data are left alone: a step draws its new rows only.
  const L = data.layers[layer];
  const rows = (root.mxRows ??= []);
  const keep = unchangedPrefix(root.mxDrawn, data.tokens, [L.indices, L.weights, L.probs], key);
  for (let t = keep; t < T; t++) {
    let g = rows[t];
    if (!g) {
      const row = svg.append('g').attr('class', 'mx-row');
      row.append('rect').attr('class', 'mx-row-bg').attr('fill', 'transparent');
      row.append('text').attr('class', 'mx-row-label').attr('text-anchor', 'end').attr('dy', '0.35em');
      row.on('mouseenter', function (this: Row) { s.hover(this.__data__!.token.position); });
      g = rows[t] = row.node() as Row;
    }
    const token = data.tokens[t];
    const d: RowDatum = { token, t, probs: probsOf(L, E, t), chosen: choices(L, K, t) };
    g.__data__ = d;
    const node = g as Drawn;
    const place = `${t}:${rh}:${width}:${token.id}:${token.text}:${token.generated}:${token.position}`;
    if (node.mxPlace !== place) {
      node.mxPlace = place;
      const sel = select(g).attr('transform', `translate(0,${M.top + t * rh})`).attr('data-position', token.position);
      sel.select('rect.mx-row-bg').attr('x', 0).attr('width', width - M.right).attr('height', rh);
      sel.select<SVGTextElement>('text.mx-row-label').attr('x', M.left - 6).attr('y', rh / 2)
        .attr('fill', token.generated ? '#1d4ed8' : '#1b1e23').text(`${token.position}  ${tokenLabel(token, 11)}`);
    }
    drawCells(s, select(g) as Selection<SVGGElement, RowDatum, null, undefined>, d, cell, rh, color, paint);
  }
  for (let t = T; t < rows.length; t++) rows[t].remove();
  rows.length = T;
  root.mxDrawn = { tokens: data.tokens, arrays: [L.indices, L.weights, L.probs], key };
}

/** What a row's cells depend on; rows whose inputs are unchanged are skipped. */
type Drawn = SVGGElement & { mxDrawn?: { layout: string; probs: Float32Array; chosen: string }; mxPlace?: string };

function drawCells(s: State, g: Selection<SVGGElement, RowDatum, null, undefined>, row: RowDatum, cell: number, rh: number, color: (p: number) => string, paint: ExpertPaint): void {
  const E = s.data.experts;
  const node = g.node() as Drawn;
  const layout = `${cell}:${rh}:${E}:${row.token.id}:${row.token.text}:${paintKey(paint)}`, chosen = row.chosen.map((c) => `${c.expert}:${c.weight}`).join();
  const prev = node.mxDrawn;
  if (prev && prev.layout === layout && prev.chosen === chosen && prev.probs.length === row.probs.length && prev.probs.every((p, e) => p === row.probs[e])) return;
  node.mxDrawn = { layout, probs: row.probs.slice(), chosen };
  const cells: CellDatum[] = Array.from(row.probs, (p, e) => ({ row, e, p, rank: row.chosen.findIndex((c) => c.expert === e) }));
  g.selectAll<SVGRectElement, CellDatum>('rect.mx-cell').data(cells, (d) => String(d.e))
    .join('rect').attr('class', 'mx-cell')
    .attr('x', (d) => M.left + d.e * cell).attr('y', 0).attr('width', cell).attr('height', rh)
    .attr('fill', (d) => color(d.p)).attr('stroke', '#fff').attr('stroke-width', 1)
    .attr('data-expert', (d) => d.e).attr('data-prob', (d) => d.p.toFixed(4));
  g.selectAll<SVGCircleElement, CellDatum>('circle.mx-choice').data(cells.filter((c) => c.rank >= 0), (d) => String(d.rank))
    .join((enter) => enter.append('circle').attr('class', 'mx-choice').attr('pointer-events', 'none'))
    .attr('cx', (d) => M.left + d.e * cell + cell / 2).attr('cy', rh / 2)
    .attr('r', (d) => Math.max(2, Math.min(rh / 2 - 2, cell / 2, d.rank === 0 ? 4.5 : 3)))
    .attr('fill', (d) => paint.color(d.e)).attr('stroke', '#111').attr('stroke-width', (d) => (d.rank === 0 ? 1.2 : 0.6))
    .attr('data-rank', (d) => d.rank).attr('data-expert', (d) => d.e);
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
    hint: 'No tokens yet: router probabilities appear here as tokens arrive.',
    isEmpty: (d) => d.tokens.length === 0 || d.layers.length === 0,
    legend: (d, opt) => {
      const paint = expertPaint(d, null);
      return { experts: d.experts, paint, note: `cell: router probability (white 0 → blue 1) · dot: chosen (large = 1st)${paint.many ? ' · coloured: the most used experts over all layers; hover a cell for its expert' : ''}` };
    },
    draw, highlight,
    rows: (d, opt) => d.layers.length === 0 ? [] : rowsOf(d, opt.layer).flatMap((r) => Array.from(r.probs, (p, e) => {
      const rank = r.chosen.findIndex((c) => c.expert === e);
      return { position: r.token.position, text: r.token.text, layer: clampLayer(d, opt.layer), expert: e, prob: p, rank: rank + 1, weight: rank >= 0 ? r.chosen[rank].weight : 0 };
    })),
    svg: (s) => s.body.querySelector('svg'),
  }, data, o);
}

// Router heatmap: tokens (rows) x experts (columns), cell colour the router probability, the
// chosen top-k marked with a dot in the expert's colour (larger for the first choice).
import { select, type Selection } from 'd3';
import { expertColor, probabilityScale, textColorOn } from './palette.ts';
import { tokenLabel } from './token-text.ts';
import { choices, clampLayer, probsOf } from './routing.ts';
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

/** Column width: the experts share what the labels leave, within readable bounds. */
export function heatmapLayout(width: number, E: number, T: number, rowHeight: number) {
  const cell = Math.max(12, Math.min(48, Math.floor((width - M.left - M.right) / Math.max(1, E))));
  return { cell, width: M.left + cell * E + M.right, height: M.top + T * rowHeight + M.bottom };
}

function rowsOf(data: RoutingData, layer: number): RowDatum[] {
  const L = data.layers[clampLayer(data, layer)];
  return data.tokens.map((token, t) => ({ token, t, probs: probsOf(L, data.experts, t), chosen: choices(L, data.topK, t) }));
}

function draw(s: State): void {
  const { data, options } = s;
  const E = data.experts, rh = options.rowHeight;
  const rows = rowsOf(data, options.layer);
  const { cell, width, height } = heatmapLayout(options.width, E, rows.length, rh);
  const color = probabilityScale(1);
  const svg = select(s.body).selectAll<SVGSVGElement, null>('svg').data([null]).join('svg')
    .attr('width', width).attr('height', height).attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);

  const axis = svg.selectAll<SVGGElement, null>('g.mx-x-axis').data([null]).join('g').attr('class', 'mx-x-axis');
  const ticks = axis.selectAll<SVGGElement, number>('g.mx-tick').data(Array.from({ length: E }, (_, e) => e), (e) => String(e))
    .join((enter) => { const g = enter.append('g').attr('class', 'mx-tick'); g.append('rect'); g.append('text'); return g; })
    .attr('transform', (e) => `translate(${M.left + e * cell},0)`);
  ticks.select('rect').attr('x', 1).attr('y', 4).attr('width', cell - 2).attr('height', 14).attr('rx', 2).attr('fill', (e) => expertColor(e, E));
  ticks.select('text').attr('x', cell / 2).attr('y', 11).attr('dy', '0.35em').attr('text-anchor', 'middle')
    .attr('fill', (e) => textColorOn(expertColor(e, E))).attr('font-weight', 600).text((e) => `E${e}`);
  axis.selectAll('text.mx-axis-title').data([null]).join('text').attr('class', 'mx-axis-title')
    .attr('x', M.left - 6).attr('y', 11).attr('dy', '0.35em').attr('text-anchor', 'end').attr('fill', '#555')
    .text(`layer ${clampLayer(data, options.layer)}`);

  svg.selectAll<SVGGElement, RowDatum>('g.mx-row').data(rows, (d) => String(d.token.position))
    .join((enter) => {
      const g = enter.append('g').attr('class', 'mx-row');
      g.append('rect').attr('class', 'mx-row-bg').attr('fill', 'transparent');
      g.append('text').attr('class', 'mx-row-label').attr('text-anchor', 'end').attr('dy', '0.35em');
      g.on('mouseenter', (_e, d) => s.hover(d.token.position));
      return g;
    })
    .attr('transform', (d) => `translate(0,${M.top + d.t * rh})`)
    .call((g) => g.select('rect.mx-row-bg').attr('x', 0).attr('width', width - M.right).attr('height', rh))
    .call((g) => g.select<SVGTextElement>('text.mx-row-label').attr('x', M.left - 6).attr('y', rh / 2)
      .attr('fill', (d) => (d.token.generated ? '#1d4ed8' : '#1b1e23')).text((d) => `${d.token.position}  ${tokenLabel(d.token, 11)}`))
    .each(function (d) { drawCells(s, select(this), d, cell, rh, color); });
}

/** What a row's cells depend on; rows whose inputs are unchanged are skipped while tokens stream in. */
type Drawn = SVGGElement & { mxDrawn?: { layout: string; probs: Float32Array; chosen: string } };

function drawCells(s: State, g: Selection<SVGGElement, RowDatum, null, undefined>, row: RowDatum, cell: number, rh: number, color: (p: number) => string): void {
  const E = s.data.experts;
  const node = g.node() as Drawn;
  const layout = `${cell}:${rh}:${E}:${row.token.id}:${row.token.text}`, chosen = row.chosen.map((c) => `${c.expert}:${c.weight}`).join();
  const prev = node.mxDrawn;
  if (prev && prev.layout === layout && prev.chosen === chosen && prev.probs.length === row.probs.length && prev.probs.every((p, e) => p === row.probs[e])) return;
  node.mxDrawn = { layout, probs: row.probs.slice(), chosen };
  const cells: CellDatum[] = Array.from(row.probs, (p, e) => ({ row, e, p, rank: row.chosen.findIndex((c) => c.expert === e) }));
  g.selectAll<SVGRectElement, CellDatum>('rect.mx-cell').data(cells, (d) => String(d.e))
    .join((enter) => enter.append('rect').attr('class', 'mx-cell')
      .on('mouseenter mousemove', (event: MouseEvent, d) => s.tooltip.show(cellTooltip(d, s.options.layer), event)))
    .attr('x', (d) => M.left + d.e * cell).attr('y', 0).attr('width', cell).attr('height', rh)
    .attr('fill', (d) => color(d.p)).attr('stroke', '#fff').attr('stroke-width', 1)
    .attr('data-expert', (d) => d.e).attr('data-prob', (d) => d.p.toFixed(4));
  g.selectAll<SVGCircleElement, CellDatum>('circle.mx-choice').data(cells.filter((c) => c.rank >= 0), (d) => String(d.rank))
    .join((enter) => enter.append('circle').attr('class', 'mx-choice').attr('pointer-events', 'none'))
    .attr('cx', (d) => M.left + d.e * cell + cell / 2).attr('cy', rh / 2)
    .attr('r', (d) => Math.max(2, Math.min(rh / 2 - 2, d.rank === 0 ? 4.5 : 3)))
    .attr('fill', (d) => expertColor(d.e, E)).attr('stroke', '#111').attr('stroke-width', (d) => (d.rank === 0 ? 1.2 : 0.6))
    .attr('data-rank', (d) => d.rank).attr('data-expert', (d) => d.e);
}

function cellTooltip(d: CellDatum, layer: number): string[] {
  const lines = [`${JSON.stringify(d.row.token.text)}  position ${d.row.token.position}`, `layer ${layer} · E${d.e}: p = ${d.p.toFixed(3)}`];
  if (d.rank >= 0) lines.push(`chosen #${d.rank + 1}, weight ${d.row.chosen[d.rank].weight.toFixed(3)}`);
  return lines;
}

function highlight(s: State, position: number | null): void {
  select(s.body).selectAll<SVGGElement, RowDatum>('g.mx-row').classed('mx-hover', (d) => d.token.position === position)
    .select('rect.mx-row-bg').attr('fill', (d) => (d.token.position === position ? '#fde68a' : 'transparent'));
}

export function createRouterHeatmap(data: RoutingData, options: Partial<RouterHeatmapOptions> = {}): View<RoutingData, RouterHeatmapOptions> {
  const o: RouterHeatmapOptions = { ...BASE_DEFAULTS, title: 'Router probabilities', layer: 0, rowHeight: 14, ...options };
  return mountView<RoutingData, RouterHeatmapOptions>({
    name: 'router-heatmap',
    hint: 'No tokens yet: router probabilities appear here as tokens arrive.',
    isEmpty: (d) => d.tokens.length === 0 || d.layers.length === 0,
    legend: (d) => ({ experts: d.experts, note: 'cell: router probability (white 0 → blue 1) · dot: chosen (large = 1st)' }),
    draw, highlight,
    rows: (d, opt) => d.layers.length === 0 ? [] : rowsOf(d, opt.layer).flatMap((r) => Array.from(r.probs, (p, e) => {
      const rank = r.chosen.findIndex((c) => c.expert === e);
      return { position: r.token.position, text: r.token.text, layer: clampLayer(d, opt.layer), expert: e, prob: p, rank: rank + 1, weight: rank >= 0 ? r.chosen[rank].weight : 0 };
    })),
    svg: (s) => s.body.querySelector('svg'),
  }, data, o);
}

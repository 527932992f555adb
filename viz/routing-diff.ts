// Routing difference of two runs (mixscope.compare): per layer, the share of positions whose top-k
// sets are the same and the mean Jaccard index of the sets (bars); per position and layer, whether
// the route changed (a grid: white the same set, orange to red as the sets share fewer experts).
import { interpolateOranges, scaleBand, scaleLinear, scaleSequential, select } from 'd3';
import { choices } from './routing.ts';
import { tokenLabel } from './token-text.ts';
import { mountView, BASE_DEFAULTS, type BaseOptions, type View, type ViewState } from './view.ts';
import type { DiffData } from './research-types.ts';
import { textWidth } from './matrix.ts';

export interface RoutingDiffOptions extends BaseOptions {
  /** Height of one layer's row in the grid. */
  rowHeight: number;
}

type State = ViewState<DiffData, RoutingDiffOptions>;
const BAR_H = 96, GAP = 16, LEFT = 40;

/** Jaccard index of position t's top-k sets in the two runs at layer l; null in a dense layer. */
function jaccardAt(d: DiffData, l: number, t: number): number | null {
  if (d.difference.layers[l] === null) return null;
  const A = new Set(choices(d.a.layers[l], d.a.topK, t).map((c) => c.expert)), B = new Set(choices(d.b.layers[l], d.b.topK, t).map((c) => c.expert));
  let both = 0;
  for (const e of A) if (B.has(e)) both++;
  return both / (A.size + B.size - both);
}

/** A run's label cut to about 44 characters, keeping its end too (where "+ 1 intervention" is). */
export const clip = (label: string, max = 44): string => (label.length <= max ? label : `${label.slice(0, max - 18)}…${label.slice(-17)}`);

function draw(s: State): void {
  const { data, options } = s;
  const diff = data.difference, L = diff.layers.length, T = diff.tokens, rh = options.rowHeight;
  const cw = Math.max(8, Math.min(40, Math.floor((options.width - LEFT - 8) / Math.max(1, T))));
  const gridTop = BAR_H + GAP + 30;
  const width = Math.max(options.width, LEFT + T * cw + 8);
  const svg = select(s.body).selectAll<SVGSVGElement, null>('svg').data([null]).join('svg')
    .attr('width', width).attr('height', gridTop + L * rh + 4).attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);

  // ---- per layer: same set, mean Jaccard
  const x = scaleBand<number>().domain(diff.layers.map((_, l) => l)).range([LEFT, Math.min(options.width, LEFT + 70 * L)]).padding(0.25);
  const y = scaleLinear().domain([0, 1]).range([BAR_H - 14, 14]);
  const bars = svg.selectAll<SVGGElement, number>('g.mx-diff-layer').data(diff.layers.map((_, l) => l), String)
    .join((enter) => { const g = enter.append('g').attr('class', 'mx-diff-layer'); g.append('rect').attr('class', 'mx-same'); g.append('rect').attr('class', 'mx-jac'); g.append('text'); return g; })
    .attr('transform', (l) => `translate(${x(l)},0)`)
    .on('mouseenter mousemove', (event: MouseEvent, l) => {
      const d = diff.layers[l];
      s.tooltip.show(d ? [`layer ${l}`, `same top-${data.a.topK} set: ${(100 * d.same_set).toFixed(1)}% of positions`, `mean Jaccard ${d.jaccard.toFixed(3)}`, `same first choice: ${(100 * d.same_first).toFixed(1)}%`]
        : [`layer ${l} is dense: no router, nothing to compare`], event);
    });
  const bw = x.bandwidth() / 2;
  // A dense layer has no bars (and its label says so).
  const same = (l: number) => diff.layers[l]?.same_set ?? 0, jac = (l: number) => diff.layers[l]?.jaccard ?? 0;
  bars.select('rect.mx-same').attr('x', 0).attr('width', bw - 1).attr('y', (l) => y(same(l))).attr('height', (l) => y(0) - y(same(l))).attr('fill', '#0072B2');
  bars.select('rect.mx-jac').attr('x', bw).attr('width', bw - 1).attr('y', (l) => y(jac(l))).attr('height', (l) => y(0) - y(jac(l))).attr('fill', '#E69F00');
  bars.select('text').attr('x', x.bandwidth() / 2).attr('y', BAR_H - 2).attr('text-anchor', 'middle').attr('fill', '#333').text((l) => (diff.layers[l] ? `L${l}` : `L${l} dense`));
  svg.selectAll('text.mx-diff-title').data([null]).join('text').attr('class', 'mx-diff-title').attr('x', LEFT).attr('y', 9).attr('fill', '#1b1e23').attr('font-weight', 600)
    .text(() => {
      const full = 'per layer: same top-k set (blue), mean Jaccard (orange), 0 to 1';
      return LEFT + textWidth(full, true) <= options.width ? full : 'same set (blue), Jaccard (orange)';
    });
  svg.selectAll('line.mx-diff-axis').data([0, 1]).join('line').attr('class', 'mx-diff-axis').attr('x1', LEFT - 4).attr('x2', x.range()[1]).attr('y1', y).attr('y2', y).attr('stroke', '#ccc');
  svg.selectAll('text.mx-diff-tick').data([0, 1]).join('text').attr('class', 'mx-diff-tick').attr('x', LEFT - 6).attr('y', y).attr('dy', '0.35em').attr('text-anchor', 'end').attr('fill', '#555').text((v) => String(v));

  // ---- per position and layer: changed or not
  const color = scaleSequential(interpolateOranges).domain([0, 1]);
  const heads = svg.selectAll<SVGTextElement, number>('text.mx-diff-token').data(Array.from({ length: T }, (_, t) => t), String).join('text').attr('class', 'mx-diff-token')
    .attr('x', (t) => LEFT + t * cw + cw / 2).attr('y', gridTop - 8).attr('text-anchor', 'middle').attr('fill', '#1b1e23')
    .text((t) => (cw >= 18 ? tokenLabel(data.a.tokens[t], Math.floor(cw / 6)) : ''));
  heads.attr('font-weight', (t) => (data.a.tokens[t].id !== data.b.tokens[t]?.id ? 700 : 400));
  svg.selectAll<SVGTextElement, number>('text.mx-diff-row').data(diff.layers.map((_, l) => l), String).join('text').attr('class', 'mx-diff-row')
    .attr('x', LEFT - 5).attr('y', (l) => gridTop + l * rh + rh / 2).attr('dy', '0.35em').attr('text-anchor', 'end').text((l) => `L${l}`);
  const cells = diff.layers.flatMap((_, l) => Array.from({ length: T }, (_, t) => ({ l, t, j: jaccardAt(data, l, t) })));
  svg.selectAll<SVGRectElement, (typeof cells)[number]>('rect.mx-diff-cell').data(cells, (c) => `${c.l}:${c.t}`).join('rect').attr('class', 'mx-diff-cell')
    .attr('x', (c) => LEFT + c.t * cw).attr('y', (c) => gridTop + c.l * rh).attr('width', cw - 1).attr('height', rh - 1)
    .attr('fill', (c) => (c.j === null ? '#fbfbfb' : c.j === 1 ? '#f3f4f6' : color(0.35 + 0.65 * (1 - c.j))))
    .attr('data-layer', (c) => c.l).attr('data-position', (c) => data.a.tokens[c.t].position).attr('data-changed', (c) => (c.j !== null && c.j < 1 ? 1 : 0))
    .on('mouseenter mousemove', (event: MouseEvent, c) => {
      s.hover(data.a.tokens[c.t].position);
      const show = (r: DiffData['a'], label: string) => `${label}: ${JSON.stringify(r.tokens[c.t]?.text)} → ${choices(r.layers[c.l], r.topK, c.t).map((x) => `E${x.expert} ${x.weight.toFixed(2)}`).join(', ')}`;
      if (c.j === null) { s.tooltip.show([`position ${c.t} · layer ${c.l} is dense: no router, nothing to compare`], event); return; }
      s.tooltip.show([`position ${c.t} · layer ${c.l}${c.j < 1 ? ' · route changed' : ''}`, show(data.a, data.labels?.[0] ?? 'A'), show(data.b, data.labels?.[1] ?? 'B'), `Jaccard ${c.j.toFixed(2)}`], event);
    });
}

function highlight(s: State, position: number | null): void {
  select(s.body).selectAll<SVGRectElement, unknown>('rect.mx-diff-cell').attr('stroke', function () { return position !== null && this.getAttribute('data-position') === String(position) ? '#111' : null; });
}

export function createRoutingDiff(data: DiffData, options: Partial<RoutingDiffOptions> = {}): View<DiffData, RoutingDiffOptions> {
  const o: RoutingDiffOptions = { ...BASE_DEFAULTS, title: 'Routing difference', rowHeight: 14, ...options };
  return mountView<DiffData, RoutingDiffOptions>({
    name: 'routing-diff',
    hint: 'Nothing to compare yet: run mixscope.compare(a, b).',
    isEmpty: (d) => !d || d.difference.tokens === 0 || d.difference.layers.length === 0,
    legend: (d) => ({ experts: 0, note: `${d.labels ? `A: ${clip(d.labels[0])} · B: ${clip(d.labels[1])} · ` : ''}grid: grey same top-${d.a.topK} set, orange to red fewer experts shared · ${d.difference.changed.filter((c) => c.length).length} of ${d.difference.tokens} positions changed route somewhere` }),
    draw, highlight,
    rows: (d) => d.difference.layers.flatMap((L, layer) => Array.from({ length: d.difference.tokens }, (_, t) => ({
      layer, position: t, text_a: d.a.tokens[t].text, text_b: d.b.tokens[t]?.text ?? '', experts_a: choices(d.a.layers[layer], d.a.topK, t).map((c) => c.expert).join(' '),
      experts_b: choices(d.b.layers[layer], d.b.topK, t).map((c) => c.expert).join(' '), jaccard: jaccardAt(d, layer, t) ?? '', same_set_layer: L?.same_set ?? '', jaccard_layer: L?.jaccard ?? '',
    }))),
    svg: (s) => s.body.querySelector('svg'),
  }, data, o);
}

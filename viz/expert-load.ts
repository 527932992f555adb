// Expert load: one small bar chart per layer of each expert's share of tokens, against the
// uniform share a perfectly balanced router would give (dashed line).
import { axisLeft, group, max, scaleBand, scaleLinear, select } from 'd3';
import { expertColor } from './palette.ts';
import { choices } from './routing.ts';
import { expertLoad, type ExpertLoad } from './load.ts';
import { mountView, BASE_DEFAULTS, type BaseOptions, type View, type ViewState } from './view.ts';
import type { RoutingData } from './types.ts';

export interface ExpertLoadOptions extends BaseOptions {
  /**
   * 'first': share of first choices; 'topk': share of all top-k choices (each token counts once
   * per chosen expert). Both sum to 1 over experts; uniform is 1/E.
   */
  count: 'first' | 'topk';
  /** Layers to draw (null: all). */
  layers: number[] | null;
  /** Height of one panel in pixels. */
  panelHeight: number;
}

type State = ViewState<RoutingData, ExpertLoadOptions>;
interface Panel { layer: number; bars: ExpertLoad[] }

const M = { top: 16, right: 6, bottom: 16, left: 30 };
const GAP = 10;

/** Panels per row: as many ~170px panels as the width holds, never more than there are layers. */
export function panelColumns(width: number, panels: number): number {
  return Math.max(1, Math.min(panels, Math.floor((width + GAP) / (170 + GAP))));
}

function panelsOf(data: RoutingData, options: ExpertLoadOptions): Panel[] {
  const byLayer = group(expertLoad(data), (d) => d.layer);
  const layers = options.layers ?? data.layers.map((_, l) => l);
  return layers.filter((l) => byLayer.has(l)).map((layer) => ({ layer, bars: byLayer.get(layer)! }));
}

function draw(s: State): void {
  const { data, options } = s;
  const E = data.experts, T = data.tokens.length;
  const panels = panelsOf(data, options);
  const cols = panelColumns(options.width, panels.length);
  const pw = Math.floor((options.width - GAP * (cols - 1)) / cols), ph = options.panelHeight;
  const rowsN = Math.ceil(panels.length / cols);
  const share = (d: ExpertLoad) => (options.count === 'first' ? d.firstShare : d.topkShare);
  const n = (d: ExpertLoad) => (options.count === 'first' ? d.first : d.topk);
  const uniform = 1 / E;
  const x = scaleBand<number>().domain(Array.from({ length: E }, (_, e) => e)).range([M.left, pw - M.right]).padding(0.18);
  // One y scale for all panels so bar heights compare across layers.
  const y = scaleLinear().domain([0, Math.max(uniform * 1.6, max(panels, (p) => max(p.bars, share)) ?? 0)]).nice(4).range([ph - M.bottom, M.top]);

  const svg = select(s.body).selectAll<SVGSVGElement, null>('svg').data([null]).join('svg')
    .attr('width', options.width).attr('height', rowsN * ph + (rowsN - 1) * GAP)
    .attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);
  svg.selectAll<SVGGElement, Panel>('g.mx-panel').data(panels, (p) => String(p.layer))
    .join((enter) => {
      const g = enter.append('g').attr('class', 'mx-panel');
      g.append('g').attr('class', 'mx-y-axis');
      g.append('text').attr('class', 'mx-panel-title').attr('font-weight', 600).attr('fill', '#1b1e23');
      g.append('g').attr('class', 'mx-bars');
      g.append('line').attr('class', 'mx-uniform').attr('stroke', '#1b1e23').attr('stroke-dasharray', '4 3').attr('stroke-width', 1);
      g.append('g').attr('class', 'mx-x-labels');
      return g;
    })
    .attr('transform', (_p, i) => `translate(${(i % cols) * (pw + GAP)},${Math.floor(i / cols) * (ph + GAP)})`)
    .each(function (p) {
      const g = select(this);
      // Axis, title, uniform line and labels change with the layout and the scale, not with every
      // token: redrawn only when those change.
      const frame = `${p.layer}|${pw}|${ph}|${E}|${y.domain()}`;
      const node = this as SVGGElement & { mxFrame?: string };
      if (node.mxFrame !== frame) {
        node.mxFrame = frame;
        g.select<SVGGElement>('g.mx-y-axis').attr('transform', `translate(${M.left},0)`)
          .call(axisLeft(y).ticks(3, '~%').tickSize(-(pw - M.left - M.right)))
          .call((a) => a.select('.domain').remove())
          .call((a) => a.selectAll('.tick line').attr('stroke', '#e5e7eb'))
          .call((a) => a.selectAll('.tick text').attr('fill', '#555').attr('font-size', 9));
        g.select('text.mx-panel-title').attr('x', M.left).attr('y', 9).text(`layer ${p.layer}`);
        g.select('line.mx-uniform').attr('x1', M.left).attr('x2', pw - M.right).attr('y1', y(uniform)).attr('y2', y(uniform));
        g.select('g.mx-x-labels').selectAll<SVGTextElement, number>('text').data(x.domain(), (e) => String(e))
          .join('text').attr('x', (e) => x(e)! + x.bandwidth() / 2).attr('y', ph - 4).attr('text-anchor', 'middle')
          .attr('fill', '#555').attr('font-size', x.bandwidth() < 12 ? 7 : 9).text((e) => `E${e}`);
      }
      g.select('g.mx-bars').selectAll<SVGRectElement, ExpertLoad>('rect.mx-bar').data(p.bars, (d) => String(d.expert))
        .join((enter) => enter.append('rect').attr('class', 'mx-bar')
          .on('mouseenter mousemove', (event: MouseEvent, d) => s.tooltip.show([
            `layer ${d.layer} · E${d.expert}`,
            `1st choice: ${d.first} of ${s.data.tokens.length} (${(d.firstShare * 100).toFixed(1)}%)`,
            `in top-${s.data.topK}: ${d.topk} tokens (${(d.topkShare * 100).toFixed(1)}% of ${s.data.tokens.length * s.data.topK} choices)`,
          ], event)))
        .attr('x', (d) => x(d.expert)!).attr('width', x.bandwidth())
        .attr('y', (d) => y(share(d))).attr('height', (d) => y(0) - y(share(d)))
        .attr('fill', (d) => expertColor(d.expert, E)).attr('data-expert', (d) => d.expert).attr('data-layer', (d) => d.layer).attr('data-count', n);
    });
  svg.attr('data-tokens', T);
}

/** Outline the experts the hovered token chose in each layer. */
function highlight(s: State, position: number | null): void {
  const t = position === null ? -1 : s.data.tokens.findIndex((tok) => tok.position === position);
  const chosen = new Set<string>();
  if (t >= 0) s.data.layers.forEach((L, l) => choices(L, s.data.topK, t).forEach((c, k) => {
    if (s.options.count === 'topk' || k === 0) chosen.add(`${l}:${c.expert}`);
  }));
  select(s.body).selectAll<SVGRectElement, ExpertLoad>('rect.mx-bar')
    .attr('stroke', (d) => (chosen.has(`${d.layer}:${d.expert}`) ? '#111' : null))
    .attr('stroke-width', (d) => (chosen.has(`${d.layer}:${d.expert}`) ? 2 : null))
    .classed('mx-hover', (d) => chosen.has(`${d.layer}:${d.expert}`));
}

export function createExpertLoad(data: RoutingData, options: Partial<ExpertLoadOptions> = {}): View<RoutingData, ExpertLoadOptions> {
  const o: ExpertLoadOptions = { ...BASE_DEFAULTS, title: 'Expert load', count: 'first', layers: null, panelHeight: 120, ...options };
  return mountView<RoutingData, ExpertLoadOptions>({
    name: 'expert-load',
    hint: 'No tokens yet: expert load is counted as tokens arrive.',
    isEmpty: (d) => d.tokens.length === 0 || d.layers.length === 0,
    legend: (d, opt) => ({
      experts: d.experts,
      note: `${opt.count === 'first' ? 'share of 1st choices' : `share of top-${d.topK} choices`} · dashed: uniform 1/${d.experts} · ${d.tokens.length} tokens`,
    }),
    draw, highlight,
    rows: (d, opt) => (d.tokens.length === 0 ? [] : expertLoad(d).filter((r) => !opt.layers || opt.layers.includes(r.layer)).map((r) => ({ ...r }))),
    svg: (s) => s.body.querySelector('svg'),
  }, data, o);
}

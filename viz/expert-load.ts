// Expert load: one small bar chart per layer of each expert's share of tokens, against the
// uniform share a perfectly balanced router would give (dashed line).
import { axisLeft, group, max, scaleBand, scaleLinear, select } from 'd3';
import { expertPaint, MANY_EXPERTS, paintKey } from './many-experts.ts';
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
  /**
   * Bar order: by expert index, or by load (most used first: the shape of the imbalance). null:
   * by index up to MANY_EXPERTS experts, by load beyond.
   */
  sort: 'expert' | 'load' | null;
}

type State = ViewState<RoutingData, ExpertLoadOptions>;
interface Panel { layer: number; bars: ExpertLoad[] }

const M = { top: 16, right: 6, bottom: 16, left: 30 };
const GAP = 10;

/** Panels per row: as many ~170px panels (or `min`) as the width holds, never more than there are layers. */
export function panelColumns(width: number, panels: number, min = 170): number {
  return Math.max(1, Math.min(panels, Math.floor((width + GAP) / (min + GAP))));
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
  const many = E > MANY_EXPERTS;
  const byLoad = (options.sort ?? (many ? 'load' : 'expert')) === 'load';
  // Many experts: wider panels, so 128 bars stay a bar each.
  const cols = panelColumns(options.width, panels.length, many ? 340 : 170);
  const pw = Math.floor((options.width - GAP * (cols - 1)) / cols), ph = options.panelHeight;
  const rowsN = Math.ceil(panels.length / cols);
  const share = (d: ExpertLoad) => (options.count === 'first' ? d.firstShare : d.topkShare);
  const n = (d: ExpertLoad) => (options.count === 'first' ? d.first : d.topk);
  const uniform = 1 / E;
  const x = scaleBand<number>().domain(Array.from({ length: E }, (_, e) => e)).range([M.left, pw - M.right]).padding(0.18);
  // One y scale for all panels so bar heights compare across layers. Its top moves in steps of
  // 10% (5% below 20%), so while tokens stream in the axes are redrawn a few times, not each time.
  const top = Math.max(uniform * 1.6, max(panels, (p) => max(p.bars, share)) ?? 0);
  const step = top < 0.2 ? 0.05 : 0.1;
  const y = scaleLinear().domain([0, Math.min(1, Math.ceil(top / step - 1e-9) * step)]).range([ph - M.bottom, M.top]);

  // One paint for every panel: an expert has one colour on the whole page (many-experts.ts).
  const paint = expertPaint(data, null);
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
      // Sorted by load: bar i is the i-th most used expert of this layer (ties by index).
      const rank = new Map(byLoad
        ? [...p.bars].sort((a, b) => share(b) - share(a) || a.expert - b.expert).map((d, i) => [d.expert, i] as const)
        : p.bars.map((d) => [d.expert, d.expert] as const));
      const at = (d: ExpertLoad) => x(rank.get(d.expert)!)!;
      // Axis, title, uniform line and labels change with the layout and the scale, not with every
      // token: redrawn only when those change.
      const frame = `${p.layer}|${pw}|${ph}|${E}|${y.domain()}|${byLoad}`;
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
        if (many || byLoad) {
          g.select('g.mx-x-labels').selectAll<SVGTextElement, string>('text').data([byLoad ? `${E} experts, most used first →` : `E0 … E${E - 1}`], (t) => t)
            .join('text').attr('x', M.left).attr('y', ph - 4).attr('fill', '#555').attr('font-size', 9).text((t) => t);
        } else {
          g.select('g.mx-x-labels').selectAll<SVGTextElement, number>('text').data(x.domain(), (e) => String(e))
            .join('text').attr('x', (e) => x(e)! + x.bandwidth() / 2).attr('y', ph - 4).attr('text-anchor', 'middle')
            .attr('fill', '#555').attr('font-size', x.bandwidth() < 12 ? 7 : 9).text((e) => `E${e}`);
        }
      }
      const bars = g.select('g.mx-bars').selectAll<SVGRectElement, ExpertLoad>('rect.mx-bar').data(p.bars, (d) => String(d.expert))
        .join((enter) => enter.append('rect').attr('class', 'mx-bar')
          .on('mouseenter mousemove', (event: MouseEvent, d) => s.tooltip.show([
            `layer ${d.layer} · E${d.expert}`,
            `1st choice: ${d.first} of ${s.data.tokens.length} (${(d.firstShare * 100).toFixed(1)}%)`,
            `in top-${s.data.topK}: ${d.topk} tokens (${(d.topkShare * 100).toFixed(1)}% of ${s.data.tokens.length * s.data.topK} choices)`,
          ], event)));
      // Each attribute is written only when its value changes: while tokens stream in, most
      // bars keep their height, and every write has the browser restyle the bar.
      const pk = paintKey(paint);
      bars.each(function (d) {
        const h = y(0) - y(share(d));
        setAttrs(this, {
          x: at(d), width: Math.max(1, x.bandwidth()), y: y(share(d)), height: h,
          fill: paint.color(d.expert), 'data-expert': d.expert, 'data-layer': d.layer, 'data-count': n(d), 'data-paint': pk,
        });
      });
    });
  svg.attr('data-tokens', T);
}

function setAttrs(el: Element, attrs: Record<string, string | number>): void {
  for (const [k, v] of Object.entries(attrs)) {
    const text = String(v);
    if (el.getAttribute(k) !== text) el.setAttribute(k, text);
  }
}

/** Outline the experts the hovered token chose in each layer. */
function highlight(s: State, position: number | null): void {
  const t = position === null ? -1 : s.data.tokens.findIndex((tok) => tok.position === position);
  const chosen = new Set<string>();
  if (t >= 0) s.data.layers.forEach((L, l) => !L.dense && choices(L, s.data.topK, t).forEach((c, k) => {
    if (s.options.count === 'topk' || k === 0) chosen.add(`${l}:${c.expert}`);
  }));
  // Only bars whose state changes are touched.
  select(s.body).selectAll<SVGRectElement, ExpertLoad>('rect.mx-bar').each(function (d) {
    const on = chosen.has(`${d.layer}:${d.expert}`);
    if (this.classList.contains('mx-hover') === on) return;
    this.classList.toggle('mx-hover', on);
    if (on) { this.setAttribute('stroke', '#111'); this.setAttribute('stroke-width', '2'); } else { this.removeAttribute('stroke'); this.removeAttribute('stroke-width'); }
  });
}

/** Dense layers have no experts, so no panel: the legend says which are left out. */
function denseNote(d: RoutingData): string {
  const dense = d.layers.flatMap((L, l) => (L.dense ? [l] : []));
  return dense.length ? ` · layer${dense.length > 1 ? 's' : ''} ${dense.join(', ')} dense (no experts, no panel)` : '';
}

export function createExpertLoad(data: RoutingData, options: Partial<ExpertLoadOptions> = {}): View<RoutingData, ExpertLoadOptions> {
  const o: ExpertLoadOptions = { ...BASE_DEFAULTS, title: 'Expert load', count: 'first', layers: null, panelHeight: 120, sort: null, ...options };
  return mountView<RoutingData, ExpertLoadOptions>({
    name: 'expert-load',
    hint: 'No tokens yet: expert load is counted as tokens arrive.',
    isEmpty: (d) => d.tokens.length === 0 || d.layers.length === 0,
    legend: (d, opt) => {
      const paint = expertPaint(d, null);
      const sorted = (opt.sort ?? (paint.many ? 'load' : 'expert')) === 'load';
      return {
        experts: d.experts, paint,
        note: `${opt.count === 'first' ? 'share of 1st choices' : `share of top-${d.topK} choices`} · dashed: uniform 1/${d.experts} · ${d.tokens.length} tokens${sorted ? ' · bars sorted by load' : ''}${paint.many ? ' · colours: the most used experts over all layers, hover a bar for its expert' : ''}${denseNote(d)}`,
      };
    },
    draw, highlight,
    rows: (d, opt) => (d.tokens.length === 0 ? [] : expertLoad(d).filter((r) => !opt.layers || opt.layers.includes(r.layer)).map((r) => ({ ...r }))),
    svg: (s) => s.body.querySelector('svg'),
  }, data, o);
}

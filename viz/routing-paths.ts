// Routing paths: one column per layer, one node per expert. 'token' mode follows one token: its
// chosen experts in each layer, linked to the next layer's with width ~ the product of weights.
// 'aggregate' mode is a Sankey of all tokens' first-choice flows, with the token's path on top.
import { scalePoint, select } from 'd3';
import { expertPaint, paintKey } from './many-experts.ts';
import { probabilityScale } from './palette.ts';
import { choices, sparseLayers } from './routing.ts';
import { firstChoiceCounts, firstChoiceFlows, ribbonPath, sankeyLayout, type FlowNode, type Ribbon } from './flows.ts';
import { mountView, BASE_DEFAULTS, type BaseOptions, type View, type ViewState } from './view.ts';
import type { RoutingData } from './types.ts';

/** Ribbons coloured by transition probability, as the transitions view colours its cells. */
const transitionColor = probabilityScale(1);

export interface RoutingPathsOptions extends BaseOptions {
  mode: 'token' | 'aggregate';
  /** Absolute position of the token to follow (null: the last token). A hovered token overrides it. */
  token: number | null;
  height: number;
  /**
   * Ribbons of 'aggregate' mode in their source expert's colour ('expert'), or by the transition
   * probability P(next layer's first choice | this one's) that they carry ('transition': white to
   * dark blue, as the transitions view colours it). 'coactivation' colours each layer's nodes by
   * how often that expert is chosen together with the followed token's first choice there
   * (P(e in the top-k set | the first choice in it), over the view's tokens; white 0 → blue 1),
   * as the co-activation view's rows do.
   */
  colorBy: 'expert' | 'transition' | 'coactivation';
}

type State = ViewState<RoutingData, RoutingPathsOptions>;
interface Link { layer: number; from: number; to: number; weight: number; first: boolean }

const M = { top: 38, right: 8, bottom: 6, left: 28 };
const NODE_W = 14;

/**
 * The layers drawn as columns: those that route. A dense layer (no router) has no experts to draw,
 * so paths go from the sparse layer before it to the one after; `ids` maps a column to its layer.
 */
const columnsCache = new WeakMap<RoutingData, { data: RoutingData; ids: number[] }>();
export function routedColumns(data: RoutingData): { data: RoutingData; ids: number[] } {
  let c = columnsCache.get(data);
  if (!c) {
    const ids = sparseLayers(data);
    c = { data: ids.length === data.layers.length ? data : { ...data, layers: ids.map((l) => data.layers[l]) }, ids };
    columnsCache.set(data, c);
  }
  return c;
}

function geometry(s: State) {
  const { options } = s;
  const { data } = routedColumns(s.data);
  const L = data.layers.length, E = data.experts;
  const x = scalePoint<number>().domain(Array.from({ length: L }, (_, l) => l)).range([M.left, options.width - M.right - NODE_W]);
  const inner = options.height - M.top - M.bottom;
  const gap = Math.min(8, inner / E / 4);
  const slot = (inner - gap * (E - 1)) / E;
  let nodes: FlowNode[], ribbons: Ribbon[] = [];
  if (options.mode === 'aggregate') ({ nodes, ribbons } = sankeyLayout(firstChoiceCounts(data), firstChoiceFlows(data), inner, gap));
  else nodes = Array.from({ length: L * E }, (_, i) => ({ layer: Math.floor(i / E), expert: i % E, count: 0, y0: (i % E) * (slot + gap), y1: (i % E) * (slot + gap) + slot }));
  return { x, nodes, ribbons, E };
}

/**
 * Per layer, P(expert e in a token's top-k set | expert `first[l]` in it), over every token of
 * `data`: a row of the co-activation matrix normalised by its diagonal. 0 where `first` is never chosen.
 */
export function coactivationWith(data: RoutingData, first: readonly number[]): number[][] {
  const T = data.tokens.length, K = data.topK, E = data.experts;
  return data.layers.map((L, l) => {
    const both = new Array<number>(E).fill(0);
    let with_ = 0;
    for (let t = 0; t < T; t++) {
      const set = choices(L, K, t).map((c) => c.expert);
      if (!set.includes(first[l])) continue;
      with_++;
      for (const e of set) both[e]++;
    }
    return both.map((n) => (with_ ? n / with_ : 0));
  });
}

/** The index of the followed token: the hovered one, else the option, else the last. */
function followed(s: State, hovered: number | null): number {
  const tokens = s.data.tokens;
  const want = hovered ?? s.options.token;
  const t = want === null ? -1 : tokens.findIndex((tok) => tok.position === want);
  return t >= 0 ? t : tokens.length - 1;
}

function draw(s: State): void {
  const { options } = s;
  const { x, nodes, ribbons, E } = geometry(s);
  const { ids } = routedColumns(s.data);
  // Many experts: the most used experts over all layers have colours, the others grey.
  const paint = expertPaint(s.data, null);
  const svg = select(s.body).selectAll<SVGSVGElement, null>('svg').data([null]).join('svg')
    .attr('width', options.width).attr('height', options.height).attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);
  const plot = svg.selectAll<SVGGElement, null>('g.mx-plot').data([null]).join('g').attr('class', 'mx-plot').attr('transform', `translate(0,${M.top})`);
  const layer = (name: string) => plot.selectAll<SVGGElement, null>(`g.${name}`).data([null]).join('g').attr('class', name);
  const [gRibbons, gNodes, gPath, gLabels] = ['mx-ribbons', 'mx-nodes', 'mx-token-path', 'mx-labels'].map(layer);

  gRibbons.selectAll<SVGPathElement, Ribbon>('path.mx-ribbon').data(ribbons, (r) => `${r.layer}:${r.source}:${r.target}`)
    .join((enter) => enter.append('path').attr('class', 'mx-ribbon')
      .on('mouseenter mousemove', (event: MouseEvent, r) => s.tooltip.show([`layer ${routedColumns(s.data).ids[r.layer]} E${r.source} → layer ${routedColumns(s.data).ids[r.layer + 1]} E${r.target}`, `${r.count} tokens (first choice)`, `P(E${r.target} next | E${r.source}) = ${(r.count / Math.max(1, geometry(s).nodes[r.layer * s.data.experts + r.source].count)).toFixed(2)}`], event)))
    .attr('d', (r) => ribbonPath(x(r.layer)! + NODE_W, x(r.layer + 1)!, r))
    .attr('fill', (r) => (options.colorBy === 'transition' ? transitionColor(r.count / Math.max(1, nodes[r.layer * E + r.source].count)) : paint.color(r.source)))
    .attr('fill-opacity', options.colorBy === 'transition' ? 0.8 : 0.35).attr('stroke', 'none');

  // In token mode the nodes and labels depend on the layout only: drawn again when it changes.
  const frame = options.mode === 'aggregate' ? null : `${options.width}|${options.height}|${E}|${s.data.layers.length}|${paintKey(paint)}`;
  const plotNode = plot.node() as SVGGElement & { mxFrame?: string | null };
  if (frame !== null && plotNode.mxFrame === frame) return;
  plotNode.mxFrame = frame;
  gNodes.selectAll<SVGRectElement, FlowNode>('rect.mx-node').data(nodes, (n) => `${n.layer}:${n.expert}`)
    .join((enter) => enter.append('rect').attr('class', 'mx-node')
      .on('mouseenter mousemove', (event: MouseEvent, n) => s.tooltip.show(nodeTooltip(s, n), event)))
    .attr('x', (n) => x(n.layer)!).attr('y', (n) => n.y0).attr('width', NODE_W).attr('height', (n) => Math.max(options.mode === 'aggregate' ? 1 : 0, n.y1 - n.y0))
    .attr('rx', 2).attr('fill', (n) => (options.mode === 'aggregate' ? paint.color(n.expert) : '#f1f3f5'))
    .attr('stroke', options.mode === 'aggregate' ? 'none' : '#d8dce1')
    .attr('data-layer', (n) => ids[n.layer]).attr('data-expert', (n) => n.expert);

  gLabels.selectAll<SVGTextElement, number>('text.mx-layer-label').data(x.domain(), (l) => String(l))
    .join('text').attr('class', 'mx-layer-label').attr('x', (l) => x(l)! + NODE_W / 2).attr('y', -8).attr('text-anchor', 'middle').attr('fill', '#555').text((l) => `L${ids[l]}`);
  // Expert labels on the left column; in aggregate mode an empty node keeps its label at its place.
  gLabels.selectAll<SVGTextElement, FlowNode>('text.mx-expert-label').data(nodes.filter((n) => n.layer === 0), (n) => String(n.expert))
    .join('text').attr('class', 'mx-expert-label').attr('x', M.left - 4).attr('y', (n) => (n.y0 + n.y1) / 2).attr('dy', '0.35em')
    .attr('text-anchor', 'end').attr('fill', '#333').attr('font-weight', 600)
    // Too many experts to label each (node slots under 7 px): every 8th in token mode.
    .attr('display', (n) => (n.y1 - n.y0 < 7 && (options.mode === 'aggregate' || n.expert % 8 !== 0) ? 'none' : null))
    // Three-digit experts lose their "E" to fit the margin.
    .text((n) => (E > 100 ? String(n.expert) : `E${n.expert}`));
  gPath.attr('pointer-events', 'none');
}

function nodeTooltip(s: State, n: FlowNode): string[] {
  const { data, ids } = routedColumns(s.data);
  if (s.options.mode === 'aggregate') return [`layer ${ids[n.layer]} · E${n.expert}`, `${n.count} of ${s.data.tokens.length} tokens (first choice)`];
  const t = followed(s, s.options.link?.get() ?? null);
  const c = choices(data.layers[n.layer], data.topK, t).find((c) => c.expert === n.expert);
  return [`layer ${ids[n.layer]} · E${n.expert}`, c ? `weight ${c.weight.toFixed(3)} for token ${s.data.tokens[t].position}` : 'not chosen'];
}

/** Token t's links: every chosen expert of layer l to every chosen expert of layer l+1. */
export function tokenLinks(data: RoutingData, t: number): Link[] {
  const links: Link[] = [];
  for (let l = 0; l + 1 < data.layers.length; l++) {
    const a = choices(data.layers[l], data.topK, t), b = choices(data.layers[l + 1], data.topK, t);
    a.forEach((i, ri) => b.forEach((j, rj) => links.push({ layer: l, from: i.expert, to: j.expert, weight: i.weight * j.weight, first: ri === 0 && rj === 0 })));
  }
  return links;
}

function highlight(s: State, position: number | null): void {
  const { options } = s;
  const { data, ids } = routedColumns(s.data);
  const t = followed(s, position);
  const { x, nodes, E } = geometry(s);
  const paint = expertPaint(data, null);
  const node = (l: number, e: number) => nodes[l * E + e];
  const mid = (n: FlowNode) => (n.y0 + n.y1) / 2;
  const g = select(s.body).select<SVGGElement>('g.mx-token-path');
  const aggregate = options.mode === 'aggregate';
  const links = t < 0 ? [] : tokenLinks(data, t).filter((k) => !aggregate || k.first);
  const maxW = Math.max(2, Math.min(14, (options.height - M.top - M.bottom) / E * 0.6));
  g.selectAll<SVGPathElement, Link>('path.mx-token-link').data(links, (k) => `${k.layer}:${k.from}:${k.to}`)
    .join('path').attr('class', 'mx-token-link')
    .attr('d', (k) => {
      const x0 = x(k.layer)! + NODE_W, x1 = x(k.layer + 1)!, xm = (x0 + x1) / 2;
      const y0 = mid(node(k.layer, k.from)), y1 = mid(node(k.layer + 1, k.to));
      return `M${x0},${y0}C${xm},${y0} ${xm},${y1} ${x1},${y1}`;
    })
    .attr('fill', 'none').attr('stroke', aggregate ? '#111' : (k) => paint.color(k.from)).attr('stroke-opacity', aggregate ? 0.9 : 0.75)
    .attr('stroke-width', (k) => (aggregate ? 2 : Math.max(1, k.weight * maxW))).attr('stroke-linecap', 'round');
  const chosen = t < 0 ? [] : data.layers.flatMap((L, l) => choices(L, data.topK, t).map((c, k) => ({ l, k, ...c })))
    .filter((c) => !aggregate || c.k === 0);
  g.selectAll<SVGRectElement, (typeof chosen)[number]>('rect.mx-token-node').data(chosen, (c) => `${c.l}:${c.k}`)
    .join('rect').attr('class', 'mx-token-node')
    .attr('x', (c) => x(c.l)! - 1).attr('width', NODE_W + 2)
    .attr('y', (c) => (aggregate ? mid(node(c.l, c.expert)) - 3 : node(c.l, c.expert).y0)).attr('height', (c) => (aggregate ? 6 : node(c.l, c.expert).y1 - node(c.l, c.expert).y0))
    .attr('rx', 2).attr('fill', (c) => (aggregate ? '#111' : paint.color(c.expert)))
    // Coloured by co-activation, the node's own fill is the information: the token's nodes are outlined only.
    .attr('fill-opacity', (c) => (aggregate ? 1 : options.colorBy === 'coactivation' ? 0 : 0.35 + 0.65 * c.weight))
    .attr('stroke', '#111').attr('stroke-width', (c) => (c.k === 0 ? 1.5 : 0.75))
    .attr('data-layer', (c) => ids[c.l]).attr('data-expert', (c) => c.expert);
  if (options.colorBy === 'coactivation' && t >= 0) {
    const first = data.layers.map((L) => choices(L, data.topK, t)[0].expert);
    const p = coactivationWith(data, first);
    select(s.body).selectAll<SVGRectElement, FlowNode>('rect.mx-node').attr('fill', (n) => transitionColor(p[n.layer][n.expert]))
      .attr('data-coactivation', (n) => p[n.layer][n.expert]);
  }
  const tok = data.tokens[t];
  select(s.body).select('svg').selectAll('text.mx-token-title').data(tok ? [tok] : []).join('text').attr('class', 'mx-token-title')
    .attr('x', 0).attr('y', 9).attr('font-weight', 600).attr('fill', '#1b1e23')
    .text((d) => `token ${d.position} ${JSON.stringify(d.text)}`);
}

/** Which dense layers the paths pass over. */
function denseNote(d: RoutingData): string {
  const dense = d.layers.flatMap((L, l) => (L.dense ? [l] : []));
  return dense.length ? ` · layer${dense.length > 1 ? 's' : ''} ${dense.join(', ')} dense (no router, no column)` : '';
}

export function createRoutingPaths(data: RoutingData, options: Partial<RoutingPathsOptions> = {}): View<RoutingData, RoutingPathsOptions> {
  const o: RoutingPathsOptions = { ...BASE_DEFAULTS, title: 'Routing paths', mode: 'token', token: null, height: 260, colorBy: 'expert', ...options };
  return mountView<RoutingData, RoutingPathsOptions>({
    name: 'routing-paths',
    hint: 'No tokens yet: a token\'s path through the experts appears here.',
    isEmpty: (d) => d.tokens.length === 0 || d.layers.length === 0,
    legend: (d, opt) => ({
      experts: d.experts,
      paint: expertPaint(d, null),
      note: (opt.mode === 'aggregate' ? `ribbons: first-choice flows of all tokens${opt.colorBy === 'transition' ? ', coloured by transition probability (white 0 → blue 1)' : ''} · black: the followed token` : `link width ~ product of the two layers' routing weights (top-${d.topK})`)
        + (opt.colorBy === 'coactivation' ? ' · nodes: how often chosen together with the followed token\'s first choice (white 0 → blue 1)' : '')
        + denseNote(d),
    }),
    draw, highlight,
    rows: (all, opt) => {
      const { data: d, ids } = routedColumns(all);
      if (d.tokens.length === 0) return [];
      if (opt.mode === 'aggregate') return firstChoiceFlows(d).flatMap((m, l) => m.flatMap((row, source) => row.map((count, target) => ({ layer: ids[l], source, target, count })))).filter((r) => r.count > 0);
      const t = followed({ data: d, options: opt } as State, null);
      return d.layers.flatMap((L, l) => choices(L, d.topK, t).map((c, k) => ({ position: d.tokens[t].position, text: d.tokens[t].text, layer: ids[l], rank: k + 1, expert: c.expert, weight: c.weight })));
    },
    svg: (s) => s.body.querySelector('svg'),
  }, data, o);
}

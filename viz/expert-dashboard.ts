// Expert dashboard: what one expert of one layer reads over a corpus (engine/analysis/experts.ts).
// A navigator of the layer's experts (any number: chips wrap) and of the layers, the expert's
// shares against uniform, the tokens it prefers by lift (with their counts) and the contexts where
// the router weights it most, the token itself marked in the expert's colour.
import { scaleBand, scaleLinear, select } from 'd3';
import { textColorOn } from './palette.ts';
import { MANY_EXPERTS, paintFromCounts, type ExpertPaint } from './many-experts.ts';
import { pieceToken, tokenLabel } from './token-text.ts';
import { textWidth } from './matrix.ts';
import { mountView, BASE_DEFAULTS, type BaseOptions, type View, type ViewState } from './view.ts';
import { CONTEXT_MARKS, type ExpertsData } from './research-types.ts';

const [CONTEXT_OPEN, CONTEXT_CLOSE] = CONTEXT_MARKS;

export interface ExpertDashboardOptions extends BaseOptions {
  layer: number;
  expert: number;
}

type State = ViewState<ExpertsData, ExpertDashboardOptions>;
type Card = NonNullable<ExpertsData['layers'][number]>['experts'][number];

const clamp = (x: number, n: number) => Math.max(0, Math.min(n - 1, Math.floor(x) || 0));

/**
 * The card asked for; a dense layer (null: it has no experts) gives the nearest layer that routes
 * (the earlier one on a tie), and the head names the layer shown.
 */
function cardOf(data: ExpertsData, o: ExpertDashboardOptions): { layer: number; card: Card } {
  const at = clamp(o.layer, data.layers.length);
  let layer = at;
  for (let k = 0; k < data.layers.length; k++) {
    if (data.layers[at - k]) { layer = at - k; break; }
    if (data.layers[at + k]) { layer = at + k; break; }
  }
  return { layer, card: data.layers[layer]!.experts[clamp(o.expert, data.experts)] };
}

/** Lift bars: one row per preferred token, the bar its lift, the label its piece. */
const M = { top: 18, right: 96, bottom: 4, left: 92 };
const ROW = 18;

/**
 * Colours as the routing views give them (many-experts.ts): past 32 experts the 7 chosen most over
 * all layers, the rest grey. The report's shares times its choices are those counts.
 */
function paintOf(data: ExpertsData): ExpertPaint {
  const counts = new Array<number>(data.experts).fill(0);
  if (data.experts > MANY_EXPERTS) for (const L of data.layers) L?.experts.forEach((x, e) => { counts[e] += Math.round(x.topk_share * data.tokens * data.top_k); });
  return paintFromCounts(data.experts, counts);
}

function drawLift(svgNode: SVGSVGElement, card: Card, width: number, color: string, onHover: (lines: string[], e: MouseEvent) => void): void {
  const rows = card.top_tokens;
  const height = M.top + Math.max(1, rows.length) * ROW + M.bottom;
  const x = scaleLinear().domain([0, Math.max(1.5, ...rows.map((r) => r.lift))]).nice(4).range([M.left, width - M.right]);
  const y = scaleBand<number>().domain(rows.map((_, i) => i)).range([M.top, height - M.bottom]).padding(0.18);
  const svg = select(svgNode).attr('width', width).attr('height', height).attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);
  svg.selectAll('text.mx-lift-title').data([null]).join('text').attr('class', 'mx-lift-title')
    .attr('x', M.left).attr('y', 11).attr('fill', '#333').attr('font-weight', 600)
    .text(() => {
      const full = `tokens it prefers: lift = P(expert | token) / P(expert)${rows.length ? '' : ' (no token occurs often enough)'}`;
      return M.left + textWidth(full, true) <= width ? full : rows.length ? 'tokens it prefers, by lift' : 'no token occurs often enough';
    });
  svg.selectAll('line.mx-one').data([null]).join('line').attr('class', 'mx-one')
    .attr('x1', x(1)).attr('x2', x(1)).attr('y1', M.top - 2).attr('y2', height - M.bottom).attr('stroke', '#1b1e23').attr('stroke-dasharray', '4 3');
  svg.selectAll<SVGGElement, Card['top_tokens'][number]>('g.mx-lift').data(rows, (r) => String(r.id))
    .join((enter) => {
      const g = enter.append('g').attr('class', 'mx-lift');
      g.append('rect');
      g.append('text').attr('class', 'mx-lift-label').attr('text-anchor', 'end').attr('dy', '0.35em').attr('xml:space', 'preserve');
      g.append('text').attr('class', 'mx-lift-value').attr('dy', '0.35em');
      return g;
    })
    .attr('transform', (_r, i) => `translate(0,${y(i)})`)
    .on('mouseenter mousemove', (event: MouseEvent, r) => onHover([`${JSON.stringify(r.piece)} · id ${r.id}`, `lift ${r.lift.toFixed(2)} · in this expert's top-k ${r.count} times`], event))
    .call((g) => g.select('rect').attr('x', x(0)).attr('height', y.bandwidth()).attr('width', (r) => Math.max(0.5, x(r.lift) - x(0)))
      .attr('fill', color).attr('fill-opacity', 0.85))
    .call((g) => g.select('text.mx-lift-label').attr('x', M.left - 6).attr('y', y.bandwidth() / 2).attr('fill', '#1b1e23')
      .text((r) => tokenLabel(pieceToken(r.piece), 14)))
    .call((g) => g.select('text.mx-lift-value').attr('x', (r) => x(r.lift) + 4).attr('y', y.bandwidth() / 2).attr('fill', '#333')
      .text((r) => `×${r.lift.toFixed(2)} (${r.count})`));
}

/** The dashboard's own navigation: show another (layer, expert). Clicks still reach onExpert. */
function go(s: State, layer: number, expert: number): void {
  s.options = { ...s.options, layer, expert };
  draw(s);
}

function draw(s: State): void {
  const { data, options } = s;
  const E = data.experts, L = data.layers.length;
  const { layer, card } = cardOf(data, options);
  const paint = paintOf(data);
  const color = paint.color(card.expert);
  const body = select(s.body);

  // ---- navigator: layers, then the layer's experts (chips wrap for large E)
  const nav = body.selectAll<HTMLDivElement, null>('div.mx-dash-nav').data([null]).join('div').attr('class', 'mx-dash-nav')
    .style('display', 'flex').style('flex-wrap', 'wrap').style('gap', '3px').style('align-items', 'center').style('margin', '0 0 6px');
  nav.selectAll<HTMLSpanElement, number>('span.mx-dash-layer').data(Array.from({ length: L }, (_, l) => l), (l) => String(l))
    .join('span').attr('class', 'mx-dash-layer').attr('data-layer', (l) => l).attr('data-expert', (l) => (data.layers[l] ? card.expert : null))
    .style('padding', '0 5px').style('border', '1px solid #c9ced6').style('border-radius', '3px')
    .style('background', (l) => (l === layer ? '#1b1e23' : '#fff')).style('color', (l) => (l === layer ? '#fff' : data.layers[l] ? '#333' : '#9aa1ab'))
    // A dense layer has no experts: shown, struck through, and not a link.
    .style('text-decoration', (l) => (data.layers[l] ? null : 'line-through')).style('cursor', (l) => (data.layers[l] ? 'pointer' : 'default'))
    .attr('title', (l) => (data.layers[l] ? null : `layer ${l} is dense: no router, no experts`))
    .attr('data-dense', (l) => (data.layers[l] ? null : 'true'))
    .text((l) => `L${l}`)
    .on('click', (_e: MouseEvent, l) => { if (data.layers[l]) go(s, l, s.options.expert); });
  const chipW = E > 32 ? 14 : 24;
  nav.selectAll<HTMLSpanElement, Card>('span.mx-dash-chip').data(data.layers[layer]!.experts, (c) => String(c.expert))
    .join('span').attr('class', 'mx-dash-chip').attr('data-layer', layer).attr('data-expert', (c) => c.expert)
    .attr('title', (c) => `E${c.expert}: ${(100 * c.topk_share).toFixed(1)}% of top-${data.top_k} choices`)
    .style('display', 'inline-block').style('min-width', `${chipW}px`).style('text-align', 'center').style('font-size', E > 32 ? '8px' : '10px')
    .style('border-radius', '2px').style('background', (c) => paint.color(c.expert)).style('color', (c) => textColorOn(paint.color(c.expert)))
    .style('outline', (c) => (c.expert === card.expert ? '2px solid #111' : 'none')).style('outline-offset', '1px')
    // Height shows the expert's load, so the navigator is also a load chart of the layer.
    .style('line-height', (c) => `${Math.round(10 + 14 * Math.min(1, c.topk_share * E / 2))}px`)
    .text((c) => String(c.expert))
    .on('click', (_e: MouseEvent, c) => go(s, s.options.layer, c.expert));

  // ---- shares
  const uniform = 1 / E;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  body.selectAll<HTMLDivElement, null>('div.mx-dash-head').data([null]).join('div').attr('class', 'mx-dash-head')
    .style('font-size', '12px').style('margin', '2px 0 6px')
    .text(`Layer ${layer} · expert E${card.expert}: first choice of ${pct(card.first_share)} of tokens, ${pct(card.topk_share)} of top-${data.top_k} choices (uniform ${pct(uniform)}) · ${data.tokens} tokens`)
    .style('border-left', `6px solid ${color}`).style('padding-left', '6px');

  // ---- lift chart
  const svg = body.selectAll<SVGSVGElement, null>('svg.mx-dash-lift').data([null]).join('svg').attr('class', 'mx-dash-lift');
  drawLift(svg.node()!, card, options.width, color, (lines, e) => s.tooltip.show(lines, e));

  // ---- contexts, the token marked (text only: token text is never parsed as HTML)
  const list = body.selectAll<HTMLDivElement, null>('div.mx-dash-contexts').data([null]).join('div').attr('class', 'mx-dash-contexts').style('margin-top', '6px');
  list.selectAll('div.mx-dash-caption').data([null]).join('div').attr('class', 'mx-dash-caption').style('font-weight', '600').style('margin', '0 0 2px')
    .text(card.top_contexts.length ? 'where the router weights it most' : 'never chosen in this text');
  const rows = list.selectAll<HTMLDivElement, Card['top_contexts'][number]>('div.mx-dash-context').data(card.top_contexts, (c) => String(c.position))
    .join((enter) => {
      const row = enter.append('div').attr('class', 'mx-dash-context').style('display', 'flex').style('gap', '6px').style('align-items', 'baseline').style('white-space', 'pre');
      row.append('span').attr('class', 'mx-dash-weight').style('font-variant-numeric', 'tabular-nums').style('color', '#555').style('min-width', '92px');
      // min-width 0 lets the flex item shrink below its text, so a long context ends in an ellipsis.
      row.append('span').attr('class', 'mx-dash-text').style('overflow', 'hidden').style('text-overflow', 'ellipsis').style('min-width', '0');
      return row;
    });
  rows.select('span.mx-dash-weight').text((c) => `#${c.position} w=${c.weight.toFixed(3)}`);
  rows.select<HTMLSpanElement>('span.mx-dash-text').each(function (c) {
    const [before, rest = ''] = c.text.split(CONTEXT_OPEN);
    const [token, after = ''] = rest.split(CONTEXT_CLOSE);
    const show = (x: string) => x.replace(/\r?\n/g, '↵').replace(/\t/g, '⇥');
    // On a narrow view the text before the token is cut from the left, so the token stays in sight.
    const room = Math.max(12, Math.floor((options.width - 100) / 6.5));
    const keep = Math.max(4, Math.floor(room * 0.55) - token.length);
    const lead = before.length > keep ? `…${before.slice(-keep)}` : before;
    const parts = [{ t: show(lead), mark: false }, { t: show(token), mark: true }, { t: show(after), mark: false }];
    select(this).selectAll<HTMLSpanElement, typeof parts[number]>('span').data(parts).join('span')
      .style('background', (p) => (p.mark ? color : null)).style('color', (p) => (p.mark ? textColorOn(color) : '#1b1e23'))
      .style('border-radius', '2px').style('padding', (p) => (p.mark ? '0 1px' : null)).text((p) => p.t);
  });
}

export function createExpertDashboard(data: ExpertsData, options: Partial<ExpertDashboardOptions> = {}): View<ExpertsData, ExpertDashboardOptions> {
  const o: ExpertDashboardOptions = { ...BASE_DEFAULTS, title: 'Expert dashboard', layer: 0, expert: 0, ...options };
  const view = mountView<ExpertsData, ExpertDashboardOptions>({
    name: 'expert-dashboard',
    hint: 'No report yet: run mixscope.experts(text) and the dashboard of each expert appears here.',
    isEmpty: (d) => !d || d.layers.length === 0 || d.tokens === 0,
    legend: () => null,
    draw,
    highlight: () => {},
    // Every expert's preferred tokens and contexts, not only the one shown.
    rows: (d) => d.layers.flatMap((L, layer) => (L?.experts ?? []).flatMap((x) => [
      ...x.top_tokens.map((t, rank) => ({ layer, expert: x.expert, kind: 'token', rank: rank + 1, first_share: x.first_share, topk_share: x.topk_share, id: t.id, piece: t.piece, count: t.count, lift: t.lift, position: '', weight: '', text: '' })),
      ...x.top_contexts.map((c, rank) => ({ layer, expert: x.expert, kind: 'context', rank: rank + 1, first_share: x.first_share, topk_share: x.topk_share, id: '', piece: '', count: '', lift: '', position: c.position, weight: c.weight, text: c.text })),
    ])),
    svg: (s) => s.body.querySelector('svg.mx-dash-lift'),
  }, data, o);
  return view;
}

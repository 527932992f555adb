// Next-token distribution: the top candidates as horizontal bars, the chosen token marked.
import { axisTop, scaleBand, scaleLinear, select, type BaseType } from 'd3';
import { displayToken } from './token-text.ts';
import { mountView, BASE_DEFAULTS, type BaseOptions, type View, type ViewState } from './view.ts';
import type { NextTokenData } from './types.ts';

export interface NextTokenOptions extends BaseOptions {
  /** Candidates to show, best first. */
  top: number;
  barHeight: number;
}

type State = ViewState<NextTokenData, NextTokenOptions>;
type Candidate = NextTokenData['candidates'][number] & { rank: number; chosen: boolean };

const M = { top: 22, right: 52, bottom: 4, left: 110 };
const BAR = '#9db4dd', CHOSEN = '#0072B2';

function candidatesOf(data: NextTokenData, top: number): Candidate[] {
  return data.candidates.slice(0, top).map((c, rank) => ({ ...c, rank, chosen: c.id === data.chosen }));
}

function label(c: Candidate): string {
  const s = displayToken(c, 'mark');
  return s.length > 16 ? `${s.slice(0, 15)}…` : s;
}

/** Writes a label only when it changes: a new text node is laid out again, an unchanged one is not. */
function setText(text: (c: Candidate) => string) {
  return function (this: BaseType, c: Candidate): void {
    const t = text(c), el = this as SVGTextElement;
    if (el.textContent !== t) el.textContent = t;
  };
}

function draw(s: State): void {
  const { data, options } = s;
  const cands = candidatesOf(data, options.top);
  const height = M.top + cands.length * options.barHeight + M.bottom;
  const y = scaleBand<number>().domain(cands.map((c) => c.id)).range([M.top, height - M.bottom]).padding(0.2);
  const x = scaleLinear().domain([0, Math.max(0.05, ...cands.map((c) => c.prob))]).nice(4).range([M.left, options.width - M.right]);
  const svg = select(s.body).selectAll<SVGSVGElement, null>('svg').data([null]).join('svg')
    .attr('width', options.width).attr('height', height).attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);
  // The axis changes with the scale (rounded, so rarely), not with every token: redrawn only then.
  const axis = svg.selectAll<SVGGElement, null>('g.mx-x-axis').data([null]).join('g').attr('class', 'mx-x-axis');
  const frame = `${x.domain()}|${x.range()}|${height}`;
  const axisNode = axis.node() as SVGGElement & { mxFrame?: string };
  if (axisNode.mxFrame !== frame) {
    axisNode.mxFrame = frame;
    axis.attr('transform', `translate(0,${M.top})`)
      .call(axisTop(x).ticks(Math.max(2, Math.floor((options.width - M.left - M.right) / 80)), '~%').tickSize(-(height - M.top - M.bottom)))
      .call((a) => a.select('.domain').remove())
      .call((a) => a.selectAll('.tick line').attr('stroke', '#e5e7eb'))
      .call((a) => a.selectAll('.tick text').attr('fill', '#555'));
  }
  svg.selectAll<SVGGElement, Candidate>('g.mx-candidate').data(cands, (c) => String(c.id))
    .join((enter) => {
      const g = enter.append('g').attr('class', 'mx-candidate');
      g.append('rect').attr('class', 'mx-bar');
      g.append('text').attr('class', 'mx-bar-label').attr('text-anchor', 'end').attr('dy', '0.35em').attr('xml:space', 'preserve');
      g.append('text').attr('class', 'mx-bar-value').attr('dy', '0.35em');
      g.on('mouseenter mousemove', (event: MouseEvent, c) => s.tooltip.show([
        JSON.stringify(c.text),
        `piece ${c.piece} · id ${c.id}`,
        `#${c.rank + 1}: p = ${c.prob.toFixed(4)}${c.chosen ? ' · chosen' : ''}`,
        `after position ${s.data.position}`,
      ], event));
      return g;
    })
    .attr('transform', (c) => `translate(0,${y(c.id)})`)
    .classed('mx-chosen', (c) => c.chosen)
    .call((g) => g.select('rect.mx-bar').attr('x', x(0)).attr('height', y.bandwidth()).attr('width', (c) => Math.max(0.5, x(c.prob) - x(0)))
      .attr('fill', (c) => (c.chosen ? CHOSEN : BAR)).attr('stroke', (c) => (c.chosen ? '#111' : 'none')))
    .call((g) => g.select('text.mx-bar-label').attr('x', M.left - 6).attr('y', y.bandwidth() / 2)
      .attr('font-weight', (c) => (c.chosen ? 700 : 400)).attr('fill', '#1b1e23').each(setText((c) => `${c.chosen ? '▶ ' : ''}${label(c)}`)))
    .call((g) => g.select('text.mx-bar-value').attr('x', (c) => x(c.prob) + 4).attr('y', y.bandwidth() / 2).attr('fill', '#333')
      .each(setText((c) => `${(c.prob * 100).toFixed(c.prob < 0.01 ? 2 : 1)}%`)));
}

export function createNextToken(data: NextTokenData, options: Partial<NextTokenOptions> = {}): View<NextTokenData, NextTokenOptions> {
  const o: NextTokenOptions = { ...BASE_DEFAULTS, title: 'Next token', top: 10, barHeight: 20, ...options };
  return mountView<NextTokenData, NextTokenOptions>({
    name: 'next-token',
    hint: 'No prediction yet: the next-token distribution appears after the first step.',
    isEmpty: (d) => d.candidates.length === 0,
    legend: (d) => ({ experts: 0, note: `after position ${d.position}${d.candidates.some((c) => c.id === d.chosen) ? ' · ▶ dark bar: the token chosen' : ''}` }),
    draw,
    // The prediction follows one context position; hovering that token elsewhere outlines the chart.
    highlight: (s, position) => { select(s.body).select('svg').style('outline', position === s.data.position ? '2px solid #fde68a' : ''); },
    rows: (d, opt) => candidatesOf(d, opt.top).map((c) => ({ rank: c.rank + 1, id: c.id, text: c.text, piece: c.piece, prob: c.prob, chosen: c.chosen ? 1 : 0 })),
    svg: (s) => s.body.querySelector('svg'),
  }, data, o);
}

// Token strip: the text as chips coloured by the first-choice expert in one layer, the second
// choice as a band under the chip (Figure 8 of the Mixtral paper).
import { select } from 'd3';
import { textColorOn } from './palette.ts';
import { expertPaint, paintKey } from './many-experts.ts';
import { displayToken, newlineCount } from './token-text.ts';
import { choices, clampLayer, denseLayerNote, unchangedPrefix, type DrawnPrefix } from './routing.ts';
import { mountView, BASE_DEFAULTS, type BaseOptions, type View, type ViewState } from './view.ts';
import type { LayerRouting, RoutingData, TokenInfo } from './types.ts';

export interface TokenStripOptions extends BaseOptions {
  /** Layer whose routing colours the chips. */
  layer: number;
}

type State = ViewState<RoutingData, TokenStripOptions>;
interface Chip { token: TokenInfo; t: number; first: number; second: number | null; weights: { expert: number; weight: number }[] }

function chipOf(data: RoutingData, L: LayerRouting, t: number): Chip {
  const c = choices(L, data.topK, t);
  return { token: data.tokens[t], t, first: c[0].expert, second: c.length > 1 ? c[1].expert : null, weights: c };
}

function chipsOf(data: RoutingData, layer: number): Chip[] {
  const L = data.layers[clampLayer(data, layer)];
  return data.tokens.map((_, t) => chipOf(data, L, t));
}

/** The strip, with its token elements by index and what they were drawn from. */
type Strip = HTMLDivElement & { mxTokens?: TokenEl[]; mxDrawn?: DrawnPrefix };
type TokenEl = HTMLSpanElement & { __data__?: Chip };

/** Chips (re)drawn per call at most: a strip far behind (a new layer, just come into sight) catches up in slices. */
const CHIPS_PER_DRAW = 48;

function draw(s: State): boolean {
  const { data, options } = s;
  const E = data.experts, K = data.topK, layer = clampLayer(data, options.layer);
  const strip = select(s.body).selectAll<HTMLDivElement, null>('div.mx-strip').data([null]).join('div').attr('class', 'mx-strip');
  const root = strip.node() as Strip;
  const els = (root.mxTokens ??= []);
  const L = data.layers[layer];
  // Many experts: the most used experts (over all layers, so every view and layer agrees) have colours, the others grey (many-experts.ts).
  const paint = expertPaint(data, null);
  // Tokens drawn before from the same data are left alone: a step draws its new tokens only.
  const key = `${E}:${K}:${layer}:${paintKey(paint)}`;
  const keep = unchangedPrefix(root.mxDrawn, data.tokens, [L.indices, L.weights], key);
  const end = Math.min(data.tokens.length, keep + CHIPS_PER_DRAW);
  for (let t = keep; t < end; t++) {
    let el = els[t];
    if (!el) {
      const token = strip.append('span').attr('class', 'mx-token');
      token.append('span').attr('class', 'mx-chip')
        .on('mouseenter', function (event: MouseEvent) { const d = (this.parentNode as TokenEl).__data__!; s.hover(d.token.position); s.tooltip.show(tooltipLines(d, s.options.layer), event); })
        .on('mousemove', function (event: MouseEvent) { s.tooltip.show(tooltipLines((this.parentNode as TokenEl).__data__!, s.options.layer), event); });
      el = els[t] = token.node() as TokenEl;
    }
    const d = chipOf(data, L, t);
    el.__data__ = d;
    // Chips of earlier tokens rarely change; skip those whose inputs did not.
    const sig = `${E}:${paintKey(paint)}:${d.first}:${d.second}:${d.token.generated}:${d.token.id}:${d.token.text}:${d.token.piece}:${d.token.position}`;
    if (el.dataset.sig === sig) continue;
    el.dataset.sig = sig;
    const bg = paint.color(d.first);
    select(el).select<HTMLSpanElement>('span.mx-chip')
      .attr('data-position', d.token.position)
      .attr('data-expert', d.first)
      .classed('mx-generated', d.token.generated)
      .classed('mx-partial', d.token.text === '')
      .style('background-color', bg)
      .style('color', textColorOn(bg))
      .style('border-bottom-color', d.second === null ? bg : paint.color(d.second))
      .text(displayToken(d.token, 'keep'));
    // Line breaks sit beside the chip (inside the token span) so prose wraps like the text.
    select(el).selectAll('br').data(Array.from({ length: newlineCount(d.token.text) })).join('br');
  }
  if (end < data.tokens.length) {
    root.mxDrawn = { tokens: data.tokens.slice(0, end), arrays: [L.indices, L.weights], key };
    return true;
  }
  for (let t = data.tokens.length; t < els.length; t++) els[t].remove();
  els.length = data.tokens.length;
  root.mxDrawn = { tokens: data.tokens, arrays: [L.indices, L.weights], key };
  return false;
}

function tooltipLines(d: Chip, layer: number): string[] {
  return [
    JSON.stringify(d.token.text),
    `piece ${d.token.piece} · id ${d.token.id}`,
    `position ${d.token.position}${d.token.generated ? ' · generated' : ''} · layer ${layer}`,
    ...d.weights.map((c, k) => `${k === 0 ? '1st' : k === 1 ? '2nd' : `#${k + 1}`}: E${c.expert}  weight ${c.weight.toFixed(3)}`),
  ];
}

/** Only the chips whose state changes are touched: the one hovered before and the one hovered now. */
function highlight(s: State, position: number | null): void {
  const body = select(s.body);
  body.selectAll<HTMLSpanElement, unknown>('span.mx-chip.mx-hover').filter(function () { return this.dataset.position !== String(position); }).classed('mx-hover', false);
  if (position !== null) body.selectAll(`span.mx-chip[data-position="${position}"]`).classed('mx-hover', true);
}

/** An SVG copy of the strip as laid out now: one rect, band and text per chip at its place. */
function toSvg(s: State): SVGSVGElement | null {
  const strip = s.body.querySelector<HTMLDivElement>('.mx-strip');
  if (!strip) return null;
  const origin = strip.getBoundingClientRect();
  const svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg'))
    .attr('width', Math.ceil(origin.width)).attr('height', Math.ceil(strip.scrollHeight))
    .attr('font-family', 'system-ui, sans-serif').attr('font-size', 12);
  strip.querySelectorAll<HTMLSpanElement>('span.mx-chip').forEach((chip) => {
    const r = chip.getBoundingClientRect();
    const cs = getComputedStyle(chip);
    const x = r.left - origin.left, y = r.top - origin.top;
    svg.append('rect').attr('x', x).attr('y', y).attr('width', r.width).attr('height', r.height).attr('rx', 2).attr('fill', cs.backgroundColor);
    svg.append('rect').attr('x', x).attr('y', y + r.height - 4).attr('width', r.width).attr('height', 4).attr('fill', cs.borderBottomColor);
    svg.append('text').attr('x', x + 2).attr('y', y + (r.height - 4) / 2).attr('dy', '0.35em').attr('fill', cs.color)
      .attr('xml:space', 'preserve').text(chip.textContent ?? '');
  });
  return svg.node();
}

export function createTokenStrip(data: RoutingData, options: Partial<TokenStripOptions> = {}): View<RoutingData, TokenStripOptions> {
  const o: TokenStripOptions = { ...BASE_DEFAULTS, title: 'Token strip', layer: 0, ...options };
  return mountView<RoutingData, TokenStripOptions>({
    name: 'token-strip',
    hint: (d, opt) => (d.tokens.length && d.layers.length && denseLayerNote(d, opt.layer)) || 'No tokens yet: type a prompt or start generating.',
    isEmpty: (d, opt) => d.tokens.length === 0 || d.layers.length === 0 || denseLayerNote(d, opt.layer) !== null,
    legend: (d, opt) => {
      const paint = expertPaint(d, null);
      const note = `layer ${clampLayer(d, opt.layer)} · fill: 1st choice, band: 2nd${paint.many ? ` · colours: the ${paint.focus.length} most used experts over all layers (hover a token for its experts)` : ''}`;
      return { experts: d.experts, note, paint, generated: d.tokens.some((t) => t.generated) };
    },
    draw, highlight,
    rows: (d, opt) => d.layers.length === 0 || denseLayerNote(d, opt.layer) ? [] : chipsOf(d, opt.layer).map((c) => ({
      position: c.token.position, id: c.token.id, text: c.token.text, piece: c.token.piece, generated: c.token.generated ? 1 : 0,
      layer: clampLayer(d, opt.layer),
      ...Object.fromEntries(c.weights.flatMap((w, k) => [[`expert${k + 1}`, w.expert], [`weight${k + 1}`, w.weight]])),
    })),
    svg: toSvg,
  }, data, o);
}

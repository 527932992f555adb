// Attention map: one head's T x T pattern (query rows, key columns) with the sliding window's
// edge drawn, and the hovered token's query row outlined.
import { axisBottom, axisLeft, scaleLinear, select } from 'd3';
import { probabilityScale } from './palette.ts';
import { tokenLabel } from './token-text.ts';
import { attentionRow, kvHeadOf, paintPattern, tokenCount, windowEdgePath } from './attention.ts';
import { mountView, BASE_DEFAULTS, type BaseOptions, type View, type ViewState } from './view.ts';
import type { AttentionData } from './types.ts';

export interface AttentionMapOptions extends BaseOptions {
  /** Query head to show. */
  head: number;
  /** Largest side of the square map in pixels. */
  maxSize: number;
}

type State = ViewState<AttentionData, AttentionMapOptions>;

/** One scale for every paint, so a canvas painted before can be extended rather than repainted. */
export const ATTENTION_COLOR = probabilityScale(1);

/** Cells wide enough for a token label get one; narrower ones get numeric ticks. */
const LABEL_CELL = 10;

function layout(width: number, maxSize: number, T: number) {
  const labels = (w: number) => (Math.min(w, maxSize) / Math.max(1, T) >= LABEL_CELL);
  const probe = Math.max(60, width - 100);
  const M = labels(probe) ? { top: 16, right: 12, bottom: 62, left: 92 } : { top: 16, right: 12, bottom: 34, left: 40 };
  const size = Math.max(60, Math.min(maxSize, width - M.left - M.right));
  return { M, size, cell: size / Math.max(1, T), labels: size / Math.max(1, T) >= LABEL_CELL };
}

function clampHead(data: AttentionData, h: number): number {
  return Math.max(0, Math.min(data.heads - 1, Math.floor(h)));
}

function draw(s: State): void {
  const { data, options } = s;
  const T = tokenCount(data), h = clampHead(data, options.head);
  const { M, size, cell, labels } = layout(options.width, options.maxSize, T);
  const wrap = select(s.body).selectAll<HTMLDivElement, null>('div.mx-map-wrap').data([null]).join('div').attr('class', 'mx-map-wrap')
    .style('width', `${M.left + size + M.right}px`).style('height', `${M.top + size + M.bottom}px`);
  const canvas = wrap.selectAll<HTMLCanvasElement, null>('canvas').data([null]).join('canvas')
    .style('left', `${M.left}px`).style('top', `${M.top}px`).node()!;
  paintPattern(canvas, (q) => attentionRow(data, h, q), T, size, ATTENTION_COLOR, data.slidingWindow, { sequence: data.sequence, head: h });

  const svg = wrap.selectAll<SVGSVGElement, null>('svg').data([null]).join('svg')
    .attr('width', M.left + size + M.right).attr('height', M.top + size + M.bottom)
    .style('position', 'absolute').style('left', '0').style('top', '0')
    .attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);
  const plot = svg.selectAll<SVGGElement, null>('g.mx-plot').data([null]).join('g').attr('class', 'mx-plot').attr('transform', `translate(${M.left},${M.top})`);
  plot.selectAll('rect.mx-frame').data([null]).join('rect').attr('class', 'mx-frame')
    .attr('width', size).attr('height', size).attr('fill', 'none').attr('stroke', '#d1d5db');

  const yAxis = plot.selectAll<SVGGElement, null>('g.mx-y-axis').data([null]).join('g').attr('class', 'mx-y-axis');
  const xAxis = plot.selectAll<SVGGElement, null>('g.mx-x-axis').data([null]).join('g').attr('class', 'mx-x-axis').attr('transform', `translate(0,${size})`);
  // Ticks sit on cell centres: tick i is token i.
  const pos = scaleLinear().domain([0, Math.max(1, T - 1)]).range([cell / 2, size - cell / 2]);
  if (labels) {
    const ticks = data.tokens.map((t, i) => ({ i, label: tokenLabel(t, 10), pos: t.position }));
    yAxis.selectAll('*').filter(function () { return !(this as Element).classList.contains('mx-label'); }).remove();
    xAxis.selectAll('*').filter(function () { return !(this as Element).classList.contains('mx-label'); }).remove();
    yAxis.selectAll<SVGTextElement, (typeof ticks)[number]>('text.mx-label').data(ticks, (d) => String(d.pos)).join('text').attr('class', 'mx-label')
      .attr('x', -4).attr('y', (d) => (d.i + 0.5) * cell).attr('dy', '0.35em').attr('text-anchor', 'end').attr('fill', '#333')
      .attr('font-size', Math.min(10, cell)).attr('font-style', (d) => (data.tokens[d.i]!.generated ? 'italic' : null)).text((d) => `${d.pos} ${d.label}`);
    xAxis.selectAll<SVGTextElement, (typeof ticks)[number]>('text.mx-label').data(ticks, (d) => String(d.pos)).join('text').attr('class', 'mx-label')
      .attr('transform', (d) => `translate(${(d.i + 0.5) * cell},4) rotate(-60)`).attr('dy', '0.35em').attr('text-anchor', 'end').attr('fill', '#333')
      .attr('font-size', Math.min(10, cell)).attr('font-style', (d) => (data.tokens[d.i]!.generated ? 'italic' : null)).text((d) => d.label);
  } else {
    yAxis.selectAll('text.mx-label').remove();
    xAxis.selectAll('text.mx-label').remove();
    const fmt = (i: number) => String(data.tokens[Math.round(i)]?.position ?? '');
    yAxis.call(axisLeft(pos).tickValues(pos.ticks(Math.min(T, 8)).filter(Number.isInteger)).tickFormat((d) => fmt(+d)).tickSizeOuter(0)).call((a) => a.select('.domain').remove());
    xAxis.call(axisBottom(pos).tickValues(pos.ticks(Math.min(T, 8)).filter(Number.isInteger)).tickFormat((d) => fmt(+d)).tickSizeOuter(0)).call((a) => a.select('.domain').remove());
  }
  plot.selectAll('text.mx-axis-title').data(['query ↓', 'key →']).join((enter) => enter.append('text').attr('class', 'mx-axis-title').text((d) => d))
    .attr('x', (_d, i) => (i === 0 ? -M.left + 2 : size)).attr('y', -6)
    .attr('text-anchor', (_d, i) => (i === 0 ? 'start' : 'end')).attr('fill', '#6b7280');

  const edge = windowEdgePath(T, data.slidingWindow, cell);
  plot.selectAll('path.mx-window-edge').data(edge ? [edge] : []).join('path').attr('class', 'mx-window-edge')
    .attr('d', (d) => d).attr('fill', 'none').attr('stroke', '#D55E00').attr('stroke-width', 1.5).attr('stroke-dasharray', '4 2');

  plot.selectAll('rect.mx-hover-row').data([null]).join('rect').attr('class', 'mx-hover-row').attr('pointer-events', 'none')
    .attr('width', size).attr('height', Math.max(1, cell)).attr('fill', 'none').attr('stroke', '#111').attr('stroke-width', 1.5);
  plot.selectAll<SVGRectElement, null>('rect.mx-capture').data([null]).join((enter) => enter.append('rect').attr('class', 'mx-capture').attr('fill', 'transparent')
    .on('mousemove', (event: MouseEvent) => pointer(s, event)))
    .attr('width', size).attr('height', size);
}

function pointer(s: State, event: MouseEvent): void {
  const T = tokenCount(s.data);
  const { size } = layout(s.options.width, s.options.maxSize, T);
  const r = (event.target as Element).getBoundingClientRect();
  const q = Math.min(T - 1, Math.floor(((event.clientY - r.top) / size) * T));
  const k = Math.min(T - 1, Math.floor(((event.clientX - r.left) / size) * T));
  if (q < 0 || k < 0) return;
  const h = clampHead(s.data, s.options.head);
  const p = k <= q ? attentionRow(s.data, h, q)[k] : 0;
  const tq = s.data.tokens[q], tk = s.data.tokens[k];
  s.hover(tq.position);
  s.tooltip.show([
    `head ${h} (kv ${kvHeadOf(h, s.data.heads, s.data.kvHeads)}) · layer ${s.data.layer}`,
    `query ${tq.position} ${JSON.stringify(tq.text)}`,
    `key ${tk.position} ${JSON.stringify(tk.text)}`,
    k > q ? 'masked (future)' : s.data.slidingWindow !== null && k < q - s.data.slidingWindow + 1 ? 'masked (outside window)' : `p = ${p.toFixed(4)}`,
  ], event);
}

function highlight(s: State, position: number | null): void {
  const T = tokenCount(s.data);
  const q = position === null ? -1 : s.data.tokens.findIndex((t) => t.position === position);
  const { cell } = layout(s.options.width, s.options.maxSize, T);
  select(s.body).select('rect.mx-hover-row').attr('display', q < 0 ? 'none' : null).attr('y', q * cell).attr('data-query', q);
}

/** The overlay SVG with the painted canvas embedded as an image, for export. */
function toSvg(s: State): SVGSVGElement | null {
  const svg = s.body.querySelector('svg'), canvas = s.body.querySelector('canvas');
  if (!svg || !canvas) return null;
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const plot = clone.querySelector('g.mx-plot')!;
  const img = document.createElementNS('http://www.w3.org/2000/svg', 'image');
  img.setAttribute('href', canvas.toDataURL('image/png'));
  img.setAttribute('width', canvas.style.width.replace('px', ''));
  img.setAttribute('height', canvas.style.height.replace('px', ''));
  img.setAttribute('style', 'image-rendering:pixelated');
  plot.insertBefore(img, plot.firstChild);
  clone.querySelector('rect.mx-capture')?.remove();
  return clone;
}

export function attentionRows(data: AttentionData, heads: number[]): Record<string, string | number>[] {
  const T = tokenCount(data), rows: Record<string, string | number>[] = [];
  for (const h of heads) {
    for (let q = 0; q < T; q++) {
      const p = attentionRow(data, h, q);
      for (let k = 0; k <= q; k++) {
        if (data.slidingWindow !== null && k < q - data.slidingWindow + 1) continue;
        rows.push({ layer: data.layer, head: h, kv: kvHeadOf(h, data.heads, data.kvHeads), query: data.tokens[q].position, key: data.tokens[k].position, prob: p[k] });
      }
    }
  }
  return rows;
}

export function createAttentionMap(data: AttentionData, options: Partial<AttentionMapOptions> = {}): View<AttentionData, AttentionMapOptions> {
  const o: AttentionMapOptions = { ...BASE_DEFAULTS, title: 'Attention', head: 0, maxSize: 480, maxHeight: 640, ...options };
  return mountView<AttentionData, AttentionMapOptions>({
    name: 'attention-map',
    hint: 'No tokens yet: the attention pattern appears as tokens arrive.',
    isEmpty: (d) => tokenCount(d) === 0,
    legend: (d, opt) => {
      const h = clampHead(d, opt.head);
      const w = d.slidingWindow === null ? 'no sliding window' : `dashed: sliding-window edge (window ${d.slidingWindow})`;
      return { experts: 0, note: `layer ${d.layer} · head ${h} (kv ${kvHeadOf(h, d.heads, d.kvHeads)}) · white 0 → blue 1, grey masked · ${w}`, generated: d.tokens.some((t) => t.generated) };
    },
    draw, highlight,
    rows: (d, opt) => (tokenCount(d) ? attentionRows(d, [clampHead(d, opt.head)]) : []),
    svg: toSvg,
  }, data, o);
}

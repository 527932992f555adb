// Attention grid: every head of a layer as a thumbnail, grouped by the key/value head it shares
// (GQA), so heads that read the same keys sit together. Clicking a head selects it.
import { select } from 'd3';
import { attentionRow, kvGroups, paintPattern, tokenCount } from './attention.ts';
import { ATTENTION_COLOR, attentionRows } from './attention-map.ts';
import { mountView, BASE_DEFAULTS, type BaseOptions, type View, type ViewState } from './view.ts';
import type { AttentionData } from './types.ts';

export interface AttentionGridOptions extends BaseOptions {
  /** The selected head (outlined). */
  head: number;
  /** Called with the head a reader clicks. */
  onSelectHead: ((head: number) => void) | null;
}

type State = ViewState<AttentionData, AttentionGridOptions>;
type Group = { kv: number; heads: number[] };

/** Thumbnail side: all heads on one row when the width allows, within 40..160 px. */
export function thumbSize(width: number, heads: number, kvHeads: number): number {
  const chrome = kvHeads * 24 + heads * 10;
  return Math.max(40, Math.min(160, Math.floor((width - chrome) / Math.max(1, heads))));
}

/** Milliseconds of painting per draw: past it, the draw asks to be called again (view.ts). */
const PAINT_SLICE_MS = 4;

/**
 * Paints every thumbnail, a slice at a time: the first paint of a head pools all its rows (the
 * whole prompt at once when a generation starts: 30-150 ms for eight heads), so the heads are
 * painted over several tasks. A head painted already at this length costs only a copy, so a
 * draw called again goes on where the last one stopped. Returns true while heads remain.
 */
function paintHeads(grid: HTMLDivElement, paint: (cell: HTMLDivElement, h: number) => void): boolean {
  const t0 = performance.now();
  const cells = [...grid.querySelectorAll<HTMLDivElement & { __data__?: number }>('div.mx-head-cell')];
  for (let i = 0; i < cells.length; i++) {
    paint(cells[i]!, cells[i]!.__data__!);
    if (i + 1 < cells.length && performance.now() - t0 > PAINT_SLICE_MS) return true;
  }
  return false;
}

function draw(s: State): boolean {
  const { data, options } = s;
  const T = tokenCount(data);
  const size = thumbSize(options.width, data.heads, data.kvHeads);
  const grid = select(s.body).selectAll<HTMLDivElement, null>('div.mx-grid').data([null]).join('div').attr('class', 'mx-grid');
  const paint = (cell: HTMLDivElement, h: number) => paintPattern(select(cell).select<HTMLCanvasElement>('canvas').node()!, (q) => attentionRow(data, h, q), T, size, ATTENTION_COLOR, data.slidingWindow, { sequence: data.sequence, head: h });
  // The groups, cells and captions change with the heads and the size only: while tokens stream
  // in, only the thumbnails are painted (each adds its new rows).
  const node = grid.node() as HTMLDivElement & { mxFrame?: string };
  const frame = `${data.heads}|${data.kvHeads}|${size}|${data.layer}`;
  if (node.mxFrame === frame) {
    markSelected(s);
    return paintHeads(node, paint);
  }
  node.mxFrame = frame;
  grid.selectAll<HTMLDivElement, Group>('div.mx-kv-group').data(kvGroups(data.heads, data.kvHeads), (g) => String(g.kv))
    .join((enter) => {
      const g = enter.append('div').attr('class', 'mx-kv-group');
      g.append('div').attr('class', 'mx-kv-label');
      g.append('div').attr('class', 'mx-kv-heads');
      return g;
    })
    .attr('data-kv', (g) => g.kv)
    .call((g) => g.select('.mx-kv-label').text((g) => `kv ${g.kv} · heads ${g.heads[0]}–${g.heads[g.heads.length - 1]}`))
    .each(function (g) {
      select(this).select('.mx-kv-heads').selectAll<HTMLDivElement, number>('div.mx-head-cell').data(g.heads, (h) => String(h))
        .join((enter) => {
          const cell = enter.append('div').attr('class', 'mx-head-cell').attr('role', 'button').attr('tabindex', 0);
          const box = cell.append('div').style('position', 'relative');
          box.append('canvas');
          box.append('div').attr('class', 'mx-row-mark').style('position', 'absolute').style('left', '0').style('right', '0')
            .style('border-top', '1.5px solid #111').style('pointer-events', 'none');
          cell.append('div').attr('class', 'mx-head-caption');
          cell.on('click', (_e, h) => selectHead(s, h));
          cell.on('mousemove', (event: MouseEvent, h) => s.tooltip.show([`head ${h} · kv ${g.kv} · layer ${s.data.layer}`, 'click to select'], event));
          return cell;
        })
        .attr('data-head', (h) => h)
        .call((cell) => cell.select('.mx-head-caption').text((h) => `h${h}`));
    });
  markSelected(s);
  return paintHeads(node, paint);
}

function selectHead(s: State, h: number): void {
  s.options = { ...s.options, head: h };
  markSelected(s);
  s.options.onSelectHead?.(h);
}

function markSelected(s: State): void {
  select(s.body).selectAll<HTMLDivElement, number>('div.mx-head-cell').classed('mx-selected', (h) => h === s.options.head);
}

function highlight(s: State, position: number | null): void {
  const T = tokenCount(s.data);
  const q = position === null ? -1 : s.data.tokens.findIndex((t) => t.position === position);
  const size = thumbSize(s.options.width, s.data.heads, s.data.kvHeads);
  select(s.body).selectAll<HTMLDivElement, unknown>('div.mx-row-mark')
    .style('display', q < 0 ? 'none' : '').style('top', `${((q + 0.5) / Math.max(1, T)) * size}px`);
}

/** An SVG of the grid as laid out now: each thumbnail as an image, with its labels. */
function toSvg(s: State): SVGSVGElement | null {
  const grid = s.body.querySelector<HTMLDivElement>('.mx-grid');
  if (!grid) return null;
  const o = grid.getBoundingClientRect();
  const svg = select(document.createElementNS('http://www.w3.org/2000/svg', 'svg'))
    .attr('width', Math.ceil(o.width)).attr('height', Math.ceil(o.height)).attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);
  grid.querySelectorAll<HTMLElement>('.mx-kv-group').forEach((g) => {
    const r = g.getBoundingClientRect();
    svg.append('rect').attr('x', r.left - o.left).attr('y', r.top - o.top).attr('width', r.width).attr('height', r.height).attr('rx', 4).attr('fill', 'none').attr('stroke', '#e1e4e8');
  });
  grid.querySelectorAll<HTMLElement>('.mx-kv-label, .mx-head-caption').forEach((el) => {
    const r = el.getBoundingClientRect();
    svg.append('text').attr('x', r.left - o.left + (el.classList.contains('mx-head-caption') ? r.width / 2 : 0)).attr('y', r.top - o.top + r.height / 2)
      .attr('dy', '0.35em').attr('text-anchor', el.classList.contains('mx-head-caption') ? 'middle' : 'start').attr('fill', '#333').text(el.textContent ?? '');
  });
  grid.querySelectorAll<HTMLCanvasElement>('canvas').forEach((c) => {
    const r = c.getBoundingClientRect();
    svg.append('image').attr('href', c.toDataURL('image/png')).attr('x', r.left - o.left).attr('y', r.top - o.top).attr('width', r.width).attr('height', r.height);
  });
  return svg.node();
}

export function createAttentionGrid(data: AttentionData, options: Partial<AttentionGridOptions> = {}): View<AttentionData, AttentionGridOptions> {
  const o: AttentionGridOptions = { ...BASE_DEFAULTS, title: 'Attention heads', head: 0, onSelectHead: null, ...options };
  return mountView<AttentionData, AttentionGridOptions>({
    name: 'attention-grid',
    hint: 'No tokens yet: every head of the layer appears here as tokens arrive.',
    isEmpty: (d) => tokenCount(d) === 0,
    legend: (d) => ({ experts: 0, note: `layer ${d.layer} · ${d.heads} heads sharing ${d.kvHeads} key/value heads · click a head to select it` }),
    draw, highlight,
    rows: (d) => (tokenCount(d) ? attentionRows(d, Array.from({ length: d.heads }, (_, h) => h)) : []),
    svg: toSvg,
  }, data, o);
}

// Attention pattern helpers: one head's (T, T) slice, GQA groups, the sliding-window edge, and
// painting a pattern into a canvas (T x T cells are too many for SVG at hundreds of tokens).
import type { AttentionData } from './types.ts';

/** Token count of the pattern. */
export function tokenCount(data: AttentionData): number {
  return data.tokens.length;
}

/** Head h's (T, T) probabilities, query-major (a view of `pattern`, which a streamed producer builds on first read). */
export function headPattern(data: AttentionData, h: number): Float32Array {
  const T = tokenCount(data);
  return data.pattern.subarray(h * T * T, (h + 1) * T * T);
}

/** Head h's row for query q: the probabilities of keys 0..q (a view, never a copy). */
export function attentionRow(data: AttentionData, h: number, q: number): Float32Array {
  if (data.row) return data.row(h, q);
  const T = tokenCount(data), at = (h * T + q) * T;
  return data.pattern.subarray(at, at + q + 1);
}

/** The key/value head query head h reads (grouped-query attention). */
export function kvHeadOf(h: number, heads: number, kvHeads: number): number {
  return Math.floor(h / (heads / kvHeads));
}

/** Query heads grouped by the key/value head they share. */
export function kvGroups(heads: number, kvHeads: number): { kv: number; heads: number[] }[] {
  return Array.from({ length: kvHeads }, (_, kv) => ({ kv, heads: Array.from({ length: heads }, (_, h) => h).filter((h) => kvHeadOf(h, heads, kvHeads) === kv) }));
}

/**
 * The sliding window's left edge as a staircase in cell units: for every query q whose window
 * excludes older keys, the edge runs down the left of key q - window + 1. Null when nothing is
 * masked by the window (no window, or the sequence is not longer than it).
 */
export function windowEdgePath(T: number, window: number | null, cell: number): string | null {
  if (window === null || T <= window) return null;
  const parts: string[] = [];
  for (let q = window; q < T; q++) {
    const x = (q - window + 1) * cell;
    parts.push(`${parts.length ? 'L' : 'M'}${x},${q * cell}L${x},${(q + 1) * cell}`);
  }
  return parts.join('');
}

/** What a canvas was last painted with, so the next paint of the same growing data adds rows only. */
interface Painted {
  /** Identity of the growing data and the head (null: not incremental). */
  sequence: object | null;
  head: number;
  /** Bins per side of `pooled` and `cells`. */
  side: number;
  window: number | null;
  color: (p: number) => string;
  /** Tokens the bins are laid out for (see paintPattern). */
  capacity: number;
  /** Query rows pooled so far. */
  rows: number;
  /** (side, side) pooled maxima; -1 marks bins whose cells are all masked. */
  pooled: Float32Array;
  /** The pooled bins as colours: only the top-left m x m is shown, scaled to the canvas. */
  cells: HTMLCanvasElement;
}

const painted = new WeakMap<HTMLCanvasElement, Painted>();
const luts = new WeakMap<(p: number) => string, Uint8Array>();

/** Colours quantised to 1/255 steps: a 256-entry table instead of a scale call per pixel. */
function lutOf(color: (p: number) => string): Uint8Array {
  let lut = luts.get(color);
  if (!lut) {
    lut = new Uint8Array(256 * 3);
    for (let i = 0; i < 256; i++) lut.set(parseRgb(color(i / 255)), i * 3);
    luts.set(color, lut);
  }
  return lut;
}

/**
 * Paint a (T, T) pattern into `canvas` at `size` CSS pixels; `pattern` is the (T, T) array or
 * a function giving query q's row (keys 0..q). Up to one cell per device pixel each cell is a
 * crisp square; beyond that cells are max-pooled, so a thin band or a lone strong key still shows
 * in a thumbnail instead of falling between sampled pixels. A pixel is masked grey only when
 * every cell under it is masked.
 *
 * With `stream` (the data's `sequence` and the head), a canvas painted before from fewer rows of
 * the same data pools only the new rows and repaints only the pixel rows they touch (a query's
 * row never changes once seen). For that the bins are laid out for a capacity of tokens a little
 * above T rather than for T, and the part holding T tokens is shown.
 */
export function paintPattern(
  canvas: HTMLCanvasElement, pattern: Float32Array | ((q: number) => ArrayLike<number>), T: number, size: number,
  color: (p: number) => string, window: number | null = null, stream: { sequence?: object; head: number } | null = null,
): void {
  const row = typeof pattern === 'function' ? pattern : (q: number) => pattern.subarray(q * T, q * T + q + 1);
  const dpr = Math.min(2, globalThis.devicePixelRatio || 1);
  const px = Math.max(1, Math.round(size * dpr));
  if (canvas.width !== px) { canvas.width = px; canvas.height = px; }
  if (canvas.style.width !== `${size}px`) canvas.style.width = canvas.style.height = `${size}px`;
  const sequence = stream?.sequence ?? null;
  // The pooled grid has `side` x `side` bins. Up to px tokens a bin is a token (one cell per
  // pixel once scaled), and the grid is only as large as the tokens need (growing data: the next
  // power of two, so a few hundred tokens rebuild it a few times): a fresh 480 px map of a short
  // prompt allocates and colours a few hundred bins, not 230,000. Beyond px tokens the grid is px
  // bins wide: static data bins exactly T tokens; growing data bins a capacity a little above T
  // (in steps of px/8), so the bins stay put for the next tokens and the part shown is at least
  // 7/8 of the pixels.
  const pooledAbove = T > px;
  const side = pooledAbove ? px : sequence === null ? Math.max(1, T) : Math.min(px, 2 ** Math.ceil(Math.log2(Math.max(16, T))));
  const step = Math.ceil(px / 8);
  const capacity = !pooledAbove ? side : sequence === null ? T : px + step * Math.ceil((T - px) / step);
  let st = painted.get(canvas);
  if (!st || st.side !== side) {
    const cells = document.createElement('canvas');
    cells.width = cells.height = side;
    st = { sequence: null, head: -1, side, window, color, capacity: 0, rows: 0, pooled: new Float32Array(side * side), cells };
    painted.set(canvas, st);
  }
  const same = sequence !== null && st.sequence === sequence && st.head === stream!.head && st.window === window
    && st.color === color && st.capacity === capacity && st.rows <= T;
  const from = same ? st.rows : 0;
  const pooled = st.pooled;
  if (from === 0) pooled.fill(-1);
  const bins = Int32Array.from({ length: T }, (_, i) => Math.floor((i * side) / capacity));
  const bin = (i: number) => bins[i];
  for (let q = from; q < T; q++) {
    const r = row(q), lo = window === null ? 0 : Math.max(0, q - window + 1), base = bins[q] * side;
    for (let k = lo; k <= q; k++) {
      const o = base + bins[k], v = r[k];
      if (v > pooled[o]) pooled[o] = v;
    }
  }
  // The pixel rows the new queries fell into, coloured.
  const m = Math.max(1, Math.ceil((T * side) / capacity));
  const r0 = from === 0 ? 0 : bin(from), r1 = T > 0 ? bin(T - 1) + 1 : 1;
  // A staging buffer written with putImageData: kept in memory (willReadFrequently) rather than on
  // the GPU, where each write is an upload and the first one creates a GPU context.
  const cctx = st.cells.getContext('2d', { willReadFrequently: true })!;
  if (r1 > r0) {
    const lut = lutOf(color);
    const img = cctx.createImageData(side, r1 - r0);
    const d = img.data;
    for (let i = 0, j = r0 * side; i < (r1 - r0) * side; i++, j++) {
      const v = pooled[j], o = i * 4;
      d[o + 3] = 255;
      if (v < 0) { d[o] = MASKED[0]; d[o + 1] = MASKED[1]; d[o + 2] = MASKED[2]; continue; }
      const key = Math.round(Math.min(1, v) * 255) * 3;
      d[o] = lut[key]; d[o + 1] = lut[key + 1]; d[o + 2] = lut[key + 2];
    }
    cctx.putImageData(img, 0, r0);
  }
  Object.assign(st, { sequence, head: stream?.head ?? -1, window, color, capacity, rows: T });
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, px, px);
  ctx.drawImage(st.cells, 0, 0, m, m, 0, 0, px, px);
}

const MASKED = [243, 244, 246, 255];

function parseRgb(css: string): [number, number, number] {
  const m = css.match(/\d+(\.\d+)?/g) ?? ['0', '0', '0'];
  if (css.startsWith('#')) { const n = parseInt(css.slice(1), 16); return [(n >> 16) & 255, (n >> 8) & 255, n & 255]; }
  return [+m[0], +m[1], +m[2]];
}

// Attention pattern helpers: one head's (T, T) slice, GQA groups, the sliding-window edge, and
// painting a pattern into a canvas (T x T cells are too many for SVG at hundreds of tokens).
import type { AttentionData } from './types.ts';

/** Token count of the pattern. */
export function tokenCount(data: AttentionData): number {
  return data.tokens.length;
}

/** Head h's (T, T) probabilities, query-major (a view, not a copy). */
export function headPattern(data: AttentionData, h: number): Float32Array {
  const T = tokenCount(data);
  return data.pattern.subarray(h * T * T, (h + 1) * T * T);
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

/**
 * Paint a (T, T) pattern into `canvas` at `size` CSS pixels. Up to one cell per device pixel each
 * cell is a crisp square; beyond that cells are max-pooled, so a thin band or a lone strong key
 * still shows in a thumbnail instead of falling between sampled pixels. A pixel is masked grey only
 * when every cell under it is masked.
 */
export function paintPattern(canvas: HTMLCanvasElement, pattern: Float32Array, T: number, size: number, color: (p: number) => string, window: number | null = null): void {
  const dpr = Math.min(2, globalThis.devicePixelRatio || 1);
  const px = Math.max(1, Math.round(size * dpr));
  if (canvas.width !== px) { canvas.width = px; canvas.height = px; }
  canvas.style.width = canvas.style.height = `${size}px`;
  const n = Math.max(1, Math.min(T, px));
  // (n, n) pooled maxima; -1 marks pixels whose cells are all masked.
  const pooled = new Float32Array(n * n).fill(-1);
  const bin = Int32Array.from({ length: T }, (_, i) => Math.floor((i * n) / T));
  for (let q = 0; q < T; q++) {
    const lo = window === null ? 0 : Math.max(0, q - window + 1), row = bin[q] * n;
    for (let k = lo; k <= q; k++) {
      const o = row + bin[k], v = pattern[q * T + k];
      if (v > pooled[o]) pooled[o] = v;
    }
  }
  // Colours are quantised to 1/255 steps: a 256-entry table instead of a scale call per pixel.
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) lut.set(parseRgb(color(i / 255)), i * 3);
  const cells = document.createElement('canvas');
  cells.width = cells.height = n;
  const cctx = cells.getContext('2d')!;
  const img = cctx.createImageData(n, n);
  const d = img.data;
  for (let i = 0; i < n * n; i++) {
    const v = pooled[i], o = i * 4;
    d[o + 3] = 255;
    if (v < 0) { d[o] = MASKED[0]; d[o + 1] = MASKED[1]; d[o + 2] = MASKED[2]; continue; }
    const key = Math.round(Math.min(1, v) * 255) * 3;
    d[o] = lut[key]; d[o + 1] = lut[key + 1]; d[o + 2] = lut[key + 2];
  }
  cctx.putImageData(img, 0, 0);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, px, px);
  ctx.drawImage(cells, 0, 0, px, px);
}

const MASKED = [243, 244, 246, 255];

function parseRgb(css: string): [number, number, number] {
  const m = css.match(/\d+(\.\d+)?/g) ?? ['0', '0', '0'];
  if (css.startsWith('#')) { const n = parseInt(css.slice(1), 16); return [(n >> 16) & 255, (n >> 8) & 255, n & 255]; }
  return [+m[0], +m[1], +m[2]];
}

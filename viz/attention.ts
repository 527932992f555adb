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

/** Paint a (T, T) pattern into `canvas` at `size` CSS pixels, one crisp square per cell. */
export function paintPattern(canvas: HTMLCanvasElement, pattern: Float32Array, T: number, size: number, color: (p: number) => string, window: number | null = null): void {
  const dpr = Math.min(2, globalThis.devicePixelRatio || 1);
  const px = Math.max(1, Math.round(size * dpr));
  if (canvas.width !== px) { canvas.width = px; canvas.height = px; }
  canvas.style.width = canvas.style.height = `${size}px`;
  const cells = document.createElement('canvas');
  cells.width = cells.height = Math.max(1, T);
  const cctx = cells.getContext('2d')!;
  const img = cctx.createImageData(Math.max(1, T), Math.max(1, T));
  const cache = new Map<number, [number, number, number]>();
  for (let i = 0; i < T * T; i++) {
    const q = Math.floor(i / T), k = i - q * T;
    // Masked cells (future keys, keys behind the window) are grey, so a zero the model chose
    // reads differently from a zero the mask imposed.
    if (k > q || (window !== null && k < q - window + 1)) { img.data.set(MASKED, i * 4); continue; }
    // Colours are quantised to 1/256 so the scale is evaluated at most 256 times per paint.
    const key = Math.round(Math.max(0, Math.min(1, pattern[i])) * 255);
    let rgb = cache.get(key);
    if (!rgb) { rgb = parseRgb(color(key / 255)); cache.set(key, rgb); }
    img.data[i * 4] = rgb[0]; img.data[i * 4 + 1] = rgb[1]; img.data[i * 4 + 2] = rgb[2]; img.data[i * 4 + 3] = 255;
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

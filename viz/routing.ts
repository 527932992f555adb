// Reading LayerRouting's flat arrays: the choices and probabilities of one token.
import type { LayerRouting, RoutingData, TokenInfo } from './types.ts';

/** Token t's chosen experts in `layer`, best first, with their renormalised weights. */
export function choices(layer: LayerRouting, K: number, t: number): { expert: number; weight: number }[] {
  const out: { expert: number; weight: number }[] = [];
  for (let k = 0; k < K; k++) out.push({ expert: layer.indices[t * K + k], weight: layer.weights[t * K + k] });
  return out;
}

/** Token t's router probabilities over all E experts (a view into `probs`, not a copy). */
export function probsOf(layer: LayerRouting, E: number, t: number): Float32Array {
  return layer.probs.subarray(t * E, (t + 1) * E);
}

/** The layer index clamped into range, so a stale `layer` option never throws. */
export function clampLayer(data: RoutingData, layer: number): number {
  return Math.max(0, Math.min(data.layers.length - 1, Math.floor(layer)));
}

/** What a view drew last: enough to tell which leading tokens it need not draw again. */
export interface DrawnPrefix { tokens: readonly TokenInfo[]; arrays: ArrayBufferView[]; key: string }

/**
 * How many leading tokens of `tokens` are as they were when `prev` was drawn: the same token
 * objects, values read from the same buffers at the same offsets, and the same layout `key`.
 * Views treat data arrays as immutable (a producer that grows a sequence, as the site's
 * generation does, appends to buffers and never rewrites what it handed over), so those tokens
 * look exactly as drawn and a view can skip them.
 */
export function unchangedPrefix(prev: DrawnPrefix | undefined, tokens: readonly TokenInfo[], arrays: ArrayBufferView[], key: string): number {
  if (!prev || prev.key !== key || prev.arrays.length !== arrays.length) return 0;
  for (let i = 0; i < arrays.length; i++) {
    if (arrays[i].buffer !== prev.arrays[i].buffer || arrays[i].byteOffset !== prev.arrays[i].byteOffset) return 0;
  }
  const n = Math.min(prev.tokens.length, tokens.length);
  let t = 0;
  while (t < n && tokens[t] === prev.tokens[t]) t++;
  return t;
}

/** Indices of the layers that route (a dense layer, `dense: true`, routes nothing). */
export function sparseLayers(data: RoutingData): number[] {
  return data.layers.flatMap((L, l) => (L.dense ? [] : [l]));
}

/**
 * Why `layer` has nothing to draw when it is a dense layer (a view of one layer shows this instead
 * of chips or cells), or null when it routes.
 */
export function denseLayerNote(data: RoutingData, layer: number): string | null {
  const l = clampLayer(data, layer);
  if (!data.layers[l]?.dense) return null;
  const sparse = sparseLayers(data);
  return `Layer ${l} is dense: every token goes through one feed-forward network, with no router and no experts.${sparse.length ? ` Layers that route: ${sparse.join(', ')}.` : ''}`;
}

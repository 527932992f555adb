// Reading LayerRouting's flat arrays: the choices and probabilities of one token.
import type { LayerRouting, RoutingData } from './types.ts';

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

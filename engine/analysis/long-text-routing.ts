// Routing of a text longer than the model reads at once: overlapping windows, each token's
// routing taken from a window where it has at least `context` tokens before it (except at the
// start of the text), so no token is routed without the context it would normally have.
import type { Engine } from '../engine.ts';
import type { MixtralConfig } from '../config.ts';
import { layerRouting, routingHooks, type LayerRouting } from '../routing/routing.ts';

export interface LongTextRouting {
  /** Per layer, the routing of all N tokens of the text. */
  layers: LayerRouting[];
  windows: number;
}

/**
 * How a text of N tokens is cut: windows of `window` tokens starting at `starts`, each after the
 * first overlapping the one before by `context` tokens.
 */
export function textWindows(c: Pick<MixtralConfig, 'max_position_embeddings' | 'sliding_window'>, N: number, o: { window?: number; context?: number } = {}): { window: number; context: number; starts: number[] } {
  const window = Math.min(o.window ?? c.max_position_embeddings, c.max_position_embeddings);
  const context = Math.min(o.context ?? c.sliding_window ?? Math.floor(window / 4), Math.floor(window / 2));
  const starts: number[] = [0];
  while (starts[starts.length - 1] + window < N) starts.push(starts[starts.length - 1] + window - context);
  return { window, context, starts };
}

/**
 * `signal`: looked at before each window; once aborted the routing stops with the signal's reason
 * (an AbortError). `onWindow` reports each window done, for progress.
 */
export async function routeLongText(engine: Engine, ids: readonly number[], o: { window?: number; context?: number; onWindow?: (done: number, total: number) => void; signal?: AbortSignal } = {}): Promise<LongTextRouting> {
  const c = engine.config;
  const { window, context, starts } = textWindows(c, ids.length, o);
  const K = c.num_experts_per_tok, E = c.num_local_experts;
  const N = ids.length;
  const layers: LayerRouting[] = Array.from({ length: c.num_hidden_layers }, () => ({
    indices: new Int32Array(N * K), weights: new Float32Array(N * K), probs: new Float32Array(N * E),
  }));
  for (let w = 0; w < starts.length; w++) {
    o.signal?.throwIfAborted();
    const s = starts[w];
    const chunk = ids.slice(s, Math.min(N, s + window));
    const r = await engine.forward(chunk, { hooks: routingHooks(), output: 'argmax' });
    // Tokens from `keep` on are taken from this window; earlier ones came from the previous one.
    const keep = w === 0 ? 0 : context;
    layerRouting(c, r.hooks).forEach((L, l) => {
      layers[l].indices.set(L.indices.subarray(keep * K), (s + keep) * K);
      layers[l].weights.set(L.weights.subarray(keep * K), (s + keep) * K);
      layers[l].probs.set(L.probs.subarray(keep * E), (s + keep) * E);
    });
    o.onWindow?.(w + 1, starts.length);
  }
  return { layers, windows: starts.length };
}

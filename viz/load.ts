// Expert load: how many tokens each expert receives in each layer. Shares follow the engine's
// one convention (engine/analysis/routing-stats.ts): a share is a fraction of all choices, so
// the experts' shares sum to 1, for first choices and for top-k choices alike.
import type { RoutingData } from './types.ts';

export interface ExpertLoad {
  layer: number;
  expert: number;
  /** Tokens whose first choice is this expert. */
  first: number;
  /** Tokens with this expert anywhere in their top-k. */
  topk: number;
  /** first / T: sums to 1 over experts. */
  firstShare: number;
  /** topk / (T * K), each token counted once per chosen expert: sums to 1 over experts. */
  topkShare: number;
}

/**
 * Load of every expert in every layer that routes (layer-major, then expert; a dense layer has no
 * experts and no rows). Empty input gives zero shares.
 */
export function expertLoad(data: RoutingData): ExpertLoad[] {
  const { experts: E, topK: K } = data;
  const T = data.tokens.length;
  return data.layers.flatMap((L, layer) => {
    if (L.dense) return [];
    const first = new Array<number>(E).fill(0);
    const topk = new Array<number>(E).fill(0);
    for (let t = 0; t < T; t++) {
      first[L.indices[t * K]]++;
      for (let k = 0; k < K; k++) topk[L.indices[t * K + k]]++;
    }
    return first.map((f, expert) => ({ layer, expert, first: f, topk: topk[expert], firstShare: T ? f / T : 0, topkShare: T ? topk[expert] / (T * K) : 0 }));
  });
}

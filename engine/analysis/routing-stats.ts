// Routing statistics of the Mixtral paper's section 5, from the chosen experts of each token:
// how the load spreads over experts, and how often consecutive tokens go to the same expert
// ("first choice": same first-choice expert; "top-k": the top-k sets overlap, the paper's
// "first or second choice" for K = 2).
//
// The convention for shares, everywhere in Mixscope (the CLI, the site, viz/load.ts, notebooks):
// a share is a fraction of all choices, so the shares of the E experts sum to 1. `first_share`
// counts each token once, for its first choice (divided by T); `topk_share` counts each token once
// per chosen expert (divided by T * K).

export interface LayerRoutingStats {
  /** Share of tokens whose first choice is each expert (sums to 1). */
  first_share: number[];
  /** Share of all T * K choices: each token counts once per chosen expert (sums to 1). */
  topk_share: number[];
  /** Share of consecutive pairs (i, i+1) with the same first-choice expert. */
  repeat_first: number;
  /** Share of consecutive pairs whose top-k sets share at least one expert. */
  repeat_topk: number;
  /** Number of consecutive pairs counted. */
  pairs: number;
}

/**
 * `indices` is (T, K), best first. `breaks[i]` true means tokens i-1 and i are not a pair
 * (e.g. the first token of a new document); by default every neighbour is a pair.
 */
export function layerRoutingStats(indices: ArrayLike<number>, K: number, E: number, breaks?: ArrayLike<boolean>): LayerRoutingStats {
  if (K < 1 || indices.length % K) throw new RangeError(`indices length ${indices.length} is not a multiple of K=${K}`);
  const T = indices.length / K;
  const first = new Array<number>(E).fill(0);
  const any = new Array<number>(E).fill(0);
  let same = 0, overlap = 0, pairs = 0;
  for (let t = 0; t < T; t++) {
    const e0 = indices[t * K];
    for (let k = 0; k < K; k++) {
      const e = indices[t * K + k];
      if (!(e >= 0 && e < E)) throw new RangeError(`expert index ${e} at token ${t} is outside 0..${E - 1}`);
      any[e]++;
    }
    first[e0]++;
    if (t === 0 || breaks?.[t]) continue;
    pairs++;
    if (indices[(t - 1) * K] === e0) same++;
    if (sharesExpert(indices, (t - 1) * K, t * K, K)) overlap++;
  }
  return {
    first_share: first.map((c) => (T ? c / T : 0)),
    topk_share: any.map((c) => (T ? c / (T * K) : 0)),
    repeat_first: pairs ? same / pairs : 0,
    repeat_topk: pairs ? overlap / pairs : 0,
    pairs,
  };
}

function sharesExpert(ix: ArrayLike<number>, a: number, b: number, K: number): boolean {
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) if (ix[a + i] === ix[b + j]) return true;
  return false;
}

/** What uniformly random top-k routing gives: 1/E, and 1 - C(E-K, K) / C(E, K). */
export function randomRepeatRates(E: number, K: number): { repeat_first: number; repeat_topk: number } {
  return { repeat_first: 1 / E, repeat_topk: 1 - binomial(E - K, K) / binomial(E, K) };
}

export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

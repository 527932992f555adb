// How routing decisions relate to each other: which experts are chosen together (co-activation),
// how a token's first choice moves from one layer to the next (transitions), and how close each
// token's routing is to flipping (the top-k margin). `analyze` adds these to each layer.
//
// Letters: T tokens, E experts, K experts per token. `indices` is (T, K) best first, `probs`
// (T, E) the router's softmax over all experts.

/**
 * (E, E): entry [e][f], e != f, is the share of tokens whose top-k set holds both e and f; the
 * diagonal [e][e] the share whose top-k set holds e. Symmetric; 0 for no tokens.
 */
export function coactivation(indices: ArrayLike<number>, K: number, E: number): number[][] {
  const T = indices.length / K;
  const n = Array.from({ length: E }, () => new Array<number>(E).fill(0));
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < K; i++) {
      const e = indices[t * K + i];
      n[e][e]++;
      for (let j = i + 1; j < K; j++) {
        const f = indices[t * K + j];
        n[e][f]++;
        n[f][e]++;
      }
    }
  }
  return n.map((row) => row.map((c) => (T ? c / T : 0)));
}

/**
 * (E, E): entry [e][f] is P(first choice f at the next layer | first choice e at this one), over
 * the tokens of `from` (this layer) and `to` (the next), both (T, K). A row of an expert never
 * chosen first is all 0; every other row sums to 1.
 */
export function transition(from: ArrayLike<number>, to: ArrayLike<number>, K: number, E: number): number[][] {
  const T = from.length / K;
  const n = Array.from({ length: E }, () => new Array<number>(E).fill(0));
  for (let t = 0; t < T; t++) n[from[t * K]][to[t * K]]++;
  return n.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((c) => (total ? c / total : 0));
  });
}

/** Margins below this are "fragile": a small nudge to the router would change the top-k set. */
export const FRAGILE_MARGIN = 0.05;

/**
 * Per token, the K-th largest router probability minus the (K+1)-th: how far the last chosen
 * expert is ahead of the first one left out. With K = E nothing is left out: the margin is 1
 * (as in the PyTorch reference, tests/reference/mixtral_reference.py).
 */
export function topkMargins(probs: ArrayLike<number>, K: number, E: number): Float64Array {
  const T = probs.length / E;
  const out = new Float64Array(T);
  const row = new Float64Array(E);
  for (let t = 0; t < T; t++) {
    if (K >= E) { out[t] = 1; continue; }
    for (let e = 0; e < E; e++) row[e] = probs[t * E + e];
    row.sort();
    out[t] = row[E - K] - row[E - K - 1];
  }
  return out;
}

/** The mean margin over tokens and the share of tokens whose margin is below FRAGILE_MARGIN. */
export function marginStats(probs: ArrayLike<number>, K: number, E: number): { margin: number; fragile_share: number } {
  const m = topkMargins(probs, K, E);
  let sum = 0, fragile = 0;
  for (const x of m) { sum += x; if (x < FRAGILE_MARGIN) fragile++; }
  return { margin: m.length ? sum / m.length : 0, fragile_share: m.length ? fragile / m.length : 0 };
}

// The difference between the routing of two runs: two prompts, one prompt with and without an
// intervention, or two models with the same number of layers. Position t of one run is compared
// with position t of the other, over the positions and layers both have.
//
// Per layer: the share of positions whose top-k sets are the same (as sets: order and weights
// aside), the mean Jaccard index |A ∩ B| / |A ∪ B| of the sets, and the share with the same first
// choice. Per position: the layers where the set changed. A dense layer (Qwen's mlp_only_layers)
// routes nothing in either run: its entry is null, as `analyze` gives it, and it changes nothing.
import type { RoutingData } from '../routing/routing.ts';

export interface LayerDifference {
  /** Share of positions whose top-k sets are equal. */
  same_set: number;
  /** Mean over positions of the Jaccard index of the two top-k sets. */
  jaccard: number;
  /** Share of positions with the same first choice. */
  same_first: number;
}

export interface RoutingDifference {
  /** Positions compared: those both runs have. */
  tokens: number;
  /** Per layer; null for a dense layer (no router in either run). */
  layers: (LayerDifference | null)[];
  /** Per position, the layers whose top-k set differs between the runs. */
  changed: number[][];
}

/** The top-k set of position t (K entries from `indices`). */
function setOf(indices: ArrayLike<number>, K: number, t: number): Set<number> {
  const s = new Set<number>();
  for (let k = 0; k < K; k++) s.add(indices[t * K + k]);
  return s;
}

export function jaccard(a: ReadonlySet<number>, b: ReadonlySet<number>): number {
  let both = 0;
  for (const e of a) if (b.has(e)) both++;
  const either = a.size + b.size - both;
  return either ? both / either : 1;
}

export function compareRouting(a: Pick<RoutingData, 'layers' | 'topK' | 'tokens'>, b: Pick<RoutingData, 'layers' | 'topK' | 'tokens'>): RoutingDifference {
  const T = Math.min(a.tokens.length, b.tokens.length);
  const L = Math.min(a.layers.length, b.layers.length);
  const changed: number[][] = Array.from({ length: T }, () => []);
  const layers = Array.from({ length: L }, (_, l): LayerDifference | null => {
    if (a.layers[l].dense || b.layers[l].dense) return null;
    let same = 0, jac = 0, first = 0;
    for (let t = 0; t < T; t++) {
      const A = setOf(a.layers[l].indices, a.topK, t), B = setOf(b.layers[l].indices, b.topK, t);
      const j = jaccard(A, B);
      jac += j;
      if (j === 1) same++; else changed[t].push(l);
      if (a.layers[l].indices[t * a.topK] === b.layers[l].indices[t * b.topK]) first++;
    }
    return { same_set: T ? same / T : 0, jaccard: T ? jac / T : 0, same_first: T ? first / T : 0 };
  });
  return { tokens: T, layers, changed };
}

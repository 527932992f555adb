// Comparisons of two engines' forwards, shared by the Node parity tests and the browser parity
// page (bundled through tests/browser/engine-entry.ts), so both judge by the same rules.
import type { ExpertChoice, HookValue } from '../../engine/hooks/request.ts';

/** Largest |x[i] - y[i]|; Infinity when the lengths differ. */
export function maxAbsDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) return Infinity;
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
  return d;
}

/**
 * Where the expert choices of every layer differ, given as `hooks` of each forward (expert choice
 * and router probabilities per layer), comparing only tokens whose reference top-k margin (the
 * K-th probability less the next) exceeds `margin`: at a near-tie rounding may legitimately flip.
 */
export function expertChoiceFlips(
  got: Map<string, HookValue>, reference: Map<string, HookValue>, L: number, E: number, K: number, margin = 1e-4,
): { compared: number; flips: string[] } {
  let compared = 0;
  const flips: string[] = [];
  for (let l = 0; l < L; l++) {
    const a = got.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice;
    const b = reference.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice;
    const probs = (reference.get(`blocks.${l}.moe.hook_router_probs`) as { data: Float32Array }).data;
    const T = probs.length / E;
    for (let t = 0; t < T; t++) {
      const sorted = Array.from(probs.subarray(t * E, (t + 1) * E)).sort((x, y) => y - x);
      if (sorted[K - 1]! - sorted[K]! <= margin) continue;
      compared++;
      const x = [...a.indices.subarray(t * K, (t + 1) * K)].sort().join(), y = [...b.indices.subarray(t * K, (t + 1) * K)].sort().join();
      if (x !== y) flips.push(`layer ${l} token ${t}: ${x} vs ${y}`);
    }
  }
  return { compared, flips };
}

/**
 * How many (layer, position) top-k sets of `got` differ from `reference`'s (the expert-choice hooks
 * of every layer, as sets: order within the k ignored), and the first position with one: every
 * position before it has its whole causal past routed as in the reference (T when none differ).
 */
export function topkSetFlips(got: Map<string, HookValue>, reference: Map<string, HookValue>, L: number, K: number): { flips: number; firstPosition: number } {
  let flips = 0, firstPosition = Infinity;
  for (let l = 0; l < L; l++) {
    const a = (got.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice).indices;
    const b = (reference.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice).indices;
    const T = b.length / K;
    firstPosition = Math.min(firstPosition, T);
    for (let t = 0; t < T; t++) {
      const x = [...a.subarray(t * K, (t + 1) * K)].sort().join(), y = [...b.subarray(t * K, (t + 1) * K)].sort().join();
      if (x !== y) { flips++; firstPosition = Math.min(firstPosition, t); }
    }
  }
  return { flips, firstPosition };
}

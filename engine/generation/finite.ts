// The check that a forward's numbers are still numbers where the model decides something: each
// layer's router probabilities and expert weights (when the routing was observed) and the logits
// a token is chosen from. The engines let NaN through to the logits (their routers give NaN
// weights for NaN probabilities), so the logits alone catch it when no routing is observed.
// A NaN here would otherwise pass silently: argmax of NaN logits was token 0, and a NaN gate
// routes to experts 0 and 1. Both engines go through it (the generation loop, the CLI's forward).
import type { MixtralConfig } from '../config.ts';
import type { ForwardResult } from '../engine.ts';
import { NonFiniteError } from '../errors.ts';
import type { LayerRouting } from '../routing/routing.ts';

/** First index of a value that is NaN or infinite, or -1 (x - x is 0 exactly for finite x). */
function firstBad(a: ArrayLike<number>, from = 0): number {
  for (let i = from; i < a.length; i++) if (a[i] - a[i] !== 0) return i;
  return -1;
}

const name = (v: number) => (Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity');

/**
 * Throws NonFiniteError when a forward of T tokens from `position` has non-finite expert weights
 * in a layer (`routing`, when observed), non-finite logits in its last row (when the engine
 * returned logits), or no token (an engine's argmax found no number: -1 on the CPU, past the
 * vocabulary from the GPU's argmax).
 */
export function checkFinite(config: Pick<MixtralConfig, 'vocab_size' | 'num_experts_per_tok' | 'num_local_experts'>, position: number, T: number, routing: readonly LayerRouting[] | null, result: ForwardResult): void {
  const K = config.num_experts_per_tok, V = config.vocab_size;
  const E = config.num_local_experts;
  routing?.forEach((L, l) => {
    // The probabilities first: an engine may still turn NaN probabilities into finite weights.
    const p = firstBad(L.probs);
    if (p >= 0) throw new NonFiniteError('router', position + Math.floor(p / E), l, `probability ${name(L.probs[p])} for expert ${p % E}`);
    const i = firstBad(L.weights);
    if (i >= 0) throw new NonFiniteError('router', position + Math.floor(i / K), l, `weight ${name(L.weights[i])} for its choice ${i % K}`);
  });
  const last = position + T - 1;
  if (result.logits.length >= V) {
    const from = result.logits.length - V;
    const i = firstBad(result.logits, from);
    if (i >= 0) throw new NonFiniteError('logits', last, undefined, `${name(result.logits[i])} for token ${i - from}`);
  }
  if (!(Number.isInteger(result.token) && result.token >= 0 && result.token < V)) {
    throw new NonFiniteError('logits', last, undefined, 'no logit is a number');
  }
}

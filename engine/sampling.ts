// Choosing the next token from logits: greedy, temperature, top-k, top-p, with a seeded
// generator so that a run with the same seed reproduces exactly. Logits that are not numbers
// are never a choice: argmax skips NaN (and says -1 when nothing is left), and the sampler refuses
// them (engine/generate.ts stops a generation with a NonFiniteError before it gets here).

export interface SamplingOptions {
  /** 0 (or less) means greedy argmax. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined: no limit). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1: no limit). */
  topP?: number;
  /** An integer from 0 to 2^32 - 1 (the generator's state is 32 bits: no other value is a seed of its own). */
  seed?: number;
}

/** The largest seed: seeds are the 32-bit states of the generator. */
export const MAX_SEED = 2 ** 32 - 1;

/** mulberry32: a small, fast, well-distributed 32-bit generator; good enough for sampling. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Index of the largest value, ties to the lower index; NaN is skipped, and -1 means no value was a number. */
export function argmax(x: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v === v && (best < 0 || v > x[best])) best = i; // v === v: not NaN
  }
  return best;
}

/** Softmax of logits / temperature, as float64 probabilities. */
export function softmax(logits: ArrayLike<number>, temperature = 1): Float64Array {
  const p = new Float64Array(logits.length);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) { p[i] = Math.exp((logits[i] - max) / temperature); sum += p[i]; }
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

/** The n most likely tokens of softmax(logits), best first (ties to the lower id), with their probabilities. */
export function topTokens(logits: ArrayLike<number>, n: number): { ids: number[]; probs: number[] } {
  const p = softmax(logits);
  const k = Math.max(0, Math.min(n, p.length));
  // One pass with a sorted list of k: O(V k), no sort of the whole vocabulary.
  const best: number[] = [];
  for (let i = 0; i < p.length && k > 0; i++) {
    if (best.length === k && p[i] <= p[best[k - 1]]) continue;
    let j = best.length < k ? best.length : k - 1;
    best[j] = i;
    while (j > 0 && p[best[j - 1]] < p[best[j]]) { [best[j - 1], best[j]] = [best[j], best[j - 1]]; j--; }
  }
  return { ids: best, probs: best.map((i) => p[i]) };
}

/** The candidate set after temperature, top-k and top-p: token ids with renormalised probabilities. */
export function candidates(logits: ArrayLike<number>, o: SamplingOptions): { ids: number[]; probs: number[] } {
  const t = o.temperature ?? 1;
  const p = softmax(logits, t);
  let ids = Array.from({ length: p.length }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
  if (o.topK && o.topK > 0) ids = ids.slice(0, o.topK);
  if (o.topP !== undefined && o.topP < 1) {
    let cum = 0, keep = 0;
    const mass = ids.reduce((s, i) => s + p[i], 0);
    while (keep < ids.length) { cum += p[ids[keep]] / mass; keep++; if (cum >= o.topP) break; }
    ids = ids.slice(0, Math.max(1, keep));
  }
  const total = ids.reduce((s, i) => s + p[i], 0);
  return { ids, probs: ids.map((i) => p[i] / total) };
}

/** A sampler bound to its options and its own random stream. */
export function createSampler(o: SamplingOptions = {}): (logits: ArrayLike<number>) => number {
  for (const k of ['temperature', 'topK', 'topP', 'seed'] as const) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) throw new RangeError(`sampling option ${k} must be a finite number`);
  }
  if (o.topP !== undefined && (o.topP <= 0 || o.topP > 1)) throw new RangeError(`topP must be in (0, 1], got ${o.topP}`);
  if (o.topK !== undefined && (o.topK < 0 || !Number.isInteger(o.topK))) throw new RangeError(`topK must be a non-negative integer, got ${o.topK}`);
  // A fraction or a value past 32 bits would silently become another seed (seededRandom keeps 32 bits).
  if (o.seed !== undefined && (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > MAX_SEED)) throw new RangeError(`seed must be an integer from 0 to ${MAX_SEED}, got ${o.seed}`);
  if (!o.temperature || o.temperature <= 0) return argmax;
  const random = seededRandom(o.seed ?? 0);
  return (logits) => {
    for (let i = 0; i < logits.length; i++) {
      if (Number.isNaN(logits[i]) || logits[i] === Infinity) throw new RangeError(`cannot sample from logits that are not finite (${logits[i]} at token ${i})`);
    }
    const { ids, probs } = candidates(logits, o);
    let r = random();
    for (let i = 0; i < ids.length; i++) { r -= probs[i]; if (r < 0) return ids[i]; }
    return ids[ids.length - 1];
  };
}

// Choosing the next token from logits: greedy, temperature, top-k, top-p, with a seeded
// generator so that a run with the same seed reproduces exactly, and the next-token candidates.
//
// One procedure, run by the CPU here and by the GPU in shaders/sample.wgsl, step for step, and
// exact on both: only correctly rounded float32 subtractions and multiplications, comparisons,
// table look-ups and integer sums decide anything (no exp, no division, no float sums whose order
// could differ), so both pick the same token for the same seed, bit for bit.
// 1. m = the largest logit; greedy (temperature 0): the first index holding it.
// 2. The order: logits from largest to smallest (by their float bits, -0 as +0), ties to the lower
//    id. A token's weight: q = floor(fround(fround(m - l) * c)) with c = fround(1024 / temperature),
//    w = TABLE[q] = round(2^30 * exp(-(q + 0.5) / 1024)), and 0 once fround(m - l) >= dmax
//    (= fround(TABLE.length / c)) or q runs past the table. The exponent is rounded to 1/1024:
//    a weight is within 0.05% of exp((l - m) / temperature) relative to the largest, and weights
//    below 2^-31 of it (22 nats down) are 0.
// 3. top-k keeps the first k of the order; top-p, within them, the shortest prefix of the order
//    whose weight exceeds floor(mass * P / 2^32) with P = floor(topP * 2^32).
// 4. The draw: u = floor(mass * x / 2^32), x the draw-th 32-bit output of mulberry32(seed) (the
//    draw-th token generated); the token is the first id, walking the kept set in id order, whose
//    running weight exceeds u. (Every sum is an integer below 2^48: exact in a float64.)
// 5. Candidates: the first n of the order, probability = weight at temperature 1 / the total weight
//    at temperature 1 over the vocabulary (a float64 division of the same integers on both sides).
//
// Logits that are not numbers are never a choice: argmax skips NaN (and says -1 when nothing is
// left), and the sampler refuses them (engine/generate.ts stops a generation with a
// NonFiniteError before it gets here).

export interface SamplingOptions {
  /** 0 (or less) means greedy argmax. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined: no limit). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability exceeds p (1: no limit). */
  topP?: number;
  /** An integer from 0 to 2^32 - 1 (the generator's state is 32 bits: no other value is a seed of its own). */
  seed?: number;
}

/** Steps of the weights' exponent per nat. */
export const EXP_STEPS = 1024;
/** The weight of the largest logit: 2^30 (the table's first entry, nearly). */
const ONE = 2 ** 30;

let table: Uint32Array | null = null;
/** TABLE[q] = round(2^30 exp(-(q + 0.5) / 1024)) while it is positive (22 006 entries, computed once). */
export function expTable(): Uint32Array {
  if (table) return table;
  const out: number[] = [];
  for (let q = 0; ; q++) {
    const w = Math.round(ONE * Math.exp(-(q + 0.5) / EXP_STEPS));
    if (w === 0) break;
    out.push(w);
  }
  return (table = Uint32Array.from(out));
}

/** The procedure's constants for these options: what the GPU's params carry (kernels.ts: planSample). */
export interface SamplingConstants {
  greedy: boolean;
  /** 0: no limit. */
  topK: number;
  /** floor(topP * 2^32), or null for no top-p. */
  topP: number | null;
  /** fround(1024 / temperature), at most 2^100. */
  c: number;
  /** fround(TABLE.length / c): a logit this far below the largest weighs 0. */
  dmax: number;
  seed: number;
}

export function samplingConstants(o: SamplingOptions): SamplingConstants {
  const t = o.temperature ?? 0;
  const greedy = !(t > 0);
  const c = Math.fround(greedy ? EXP_STEPS : Math.min(EXP_STEPS / t, 2 ** 100));
  const topK = o.topK && o.topK > 0 ? Math.floor(o.topK) : 0;
  const topP = o.topP !== undefined && o.topP < 1 ? Math.min(2 ** 32 - 1, Math.floor(o.topP * 2 ** 32)) : null;
  return { greedy, topK, topP, c, dmax: Math.fround(expTable().length / c), seed: (o.seed ?? 0) >>> 0 };
}

/** The draw-th 32-bit output of mulberry32(seed): the numbers seededRandom(seed) returns, times 2^32. */
export function drawBits(seed: number, draw: number): number {
  let t = ((seed >>> 0) + Math.imul(draw + 1, 0x6d2b79f5)) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

/** The largest seed: seeds are the 32-bit states of the generator. */
export const MAX_SEED = 2 ** 32 - 1;

/** mulberry32: a small, fast, well-distributed 32-bit generator; good enough for sampling. */
export function seededRandom(seed: number): () => number {
  let draw = 0;
  return () => drawBits(seed, draw++) / 4294967296;
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

// ---- the procedure

const bits = new Float32Array(1), word = new Uint32Array(bits.buffer);
/** The order's key of a float: larger float, larger key; -0 as +0. */
export function orderKey(v: number): number {
  bits[0] = v;
  let u = word[0];
  if (u === 0x80000000) u = 0;
  return (u & 0x80000000 ? ~u : u | 0x80000000) >>> 0;
}

/** floor(a * b / 2^32) for integers a < 2^48, b < 2^32. */
const mulFrac = (a: number, b: number) => Number((BigInt(a) * BigInt(b)) >> 32n);

/** Token ids in the order: largest logit first, ties to the lower id. */
function order(l: Float32Array): number[] {
  const keys = Uint32Array.from(l, orderKey);
  return Array.from({ length: l.length }, (_, i) => i).sort((a, b) => keys[b] - keys[a] || a - b);
}

/** Every token's weight at `c`/`dmax` below the largest logit m (step 2). */
function weights(l: Float32Array, m: number, c: number, dmax: number): Float64Array {
  const T = expTable();
  return Float64Array.from(l, (v) => {
    const d = Math.fround(m - v);
    if (!(d < dmax)) return 0;
    const q = Math.floor(Math.fround(d * c));
    return q < T.length ? T[q] : 0;
  });
}

/** The kept set (steps 1-3) in the order, with its weights. */
function kept(logits: ArrayLike<number>, s: SamplingConstants): { ids: number[]; w: Float64Array } {
  const l = Float32Array.from(logits);
  const m = l[argmax(l)];
  const w = weights(l, m, s.c, s.dmax);
  let ids = order(l);
  if (s.topK > 0 && s.topK < ids.length) ids = ids.slice(0, s.topK);
  if (s.topP !== null) {
    const need = mulFrac(ids.reduce((a, i) => a + w[i], 0), s.topP);
    let cum = 0, n = 0;
    while (n < ids.length) { cum += w[ids[n++]]; if (cum > need) break; }
    ids = ids.slice(0, n);
  }
  return { ids, w };
}

/** The token of draw number `draw` with these options (greedy: the argmax): the GPU's sample.wgsl does the same. */
export function pickToken(logits: ArrayLike<number>, o: SamplingOptions, draw: number): number {
  const s = samplingConstants(o);
  if (s.greedy) return argmax(logits);
  const { ids, w } = kept(logits, s);
  const inSet = [...ids].sort((a, b) => a - b);
  const u = mulFrac(inSet.reduce((a, i) => a + w[i], 0), drawBits(s.seed, draw));
  let cum = 0;
  for (const i of inSet) { cum += w[i]; if (cum > u) return i; }
  return ids[0]; // not reached: the sum exceeds u
}

/** The n most likely tokens (the order's first n), with their probabilities at temperature 1. */
export function topTokens(logits: ArrayLike<number>, n: number): { ids: number[]; probs: number[] } {
  const l = Float32Array.from(logits);
  const s = samplingConstants({ temperature: 1 });
  const w = weights(l, l[argmax(l)], s.c, s.dmax);
  const mass = w.reduce((a, b) => a + b, 0);
  const ids = order(l).slice(0, Math.max(0, Math.min(n, l.length)));
  return { ids, probs: ids.map((i) => w[i] / mass) };
}

/** The candidate set after temperature, top-k and top-p, in the order, with renormalised probabilities. */
export function candidates(logits: ArrayLike<number>, o: SamplingOptions): { ids: number[]; probs: number[] } {
  const { ids, w } = kept(logits, samplingConstants({ ...o, temperature: o.temperature ?? 1 }));
  const total = ids.reduce((a, i) => a + w[i], 0);
  return { ids, probs: ids.map((i) => w[i] / total) };
}

/** Throws a RangeError naming the first sampling option that is not a valid value. */
export function checkSamplingOptions(o: SamplingOptions): void {
  for (const k of ['temperature', 'topK', 'topP', 'seed'] as const) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) throw new RangeError(`sampling option ${k} must be a finite number`);
  }
  if (o.topP !== undefined && (o.topP <= 0 || o.topP > 1)) throw new RangeError(`topP must be in (0, 1], got ${o.topP}`);
  if (o.topK !== undefined && (o.topK < 0 || !Number.isInteger(o.topK))) throw new RangeError(`topK must be a non-negative integer, got ${o.topK}`);
  // A fraction or a value past 32 bits would silently become another seed (the generator keeps 32 bits).
  if (o.seed !== undefined && (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > MAX_SEED)) throw new RangeError(`seed must be an integer from 0 to ${MAX_SEED}, got ${o.seed}`);
}

/** Throws a RangeError naming the first logit that is NaN or +Infinity: no token can be drawn from it. */
export function checkSampleable(logits: ArrayLike<number>): void {
  for (let i = 0; i < logits.length; i++) {
    if (Number.isNaN(logits[i]) || logits[i] === Infinity) throw new RangeError(`cannot sample from logits that are not finite (${logits[i]} at token ${i})`);
  }
}

/** A sampler bound to its options and its own random stream (draw 0, 1, 2, ... in turn). */
export function createSampler(o: SamplingOptions = {}): (logits: ArrayLike<number>) => number {
  checkSamplingOptions(o);
  if (!o.temperature || o.temperature <= 0) return argmax;
  let draw = 0;
  return (logits) => { checkSampleable(logits); return pickToken(logits, o, draw++); };
}

// Synthetic but realistic view data for the viz tests: routing from softmaxed router logits (top-k
// consistent with the probabilities, weights renormalised), GQA sliding-window attention whose
// rows sum to 1 over the keys the mask allows, and a next-token distribution. Deterministic.
import type { AttentionData, LayerRouting, NextTokenData, RoutingData, TokenInfo } from '../../viz/types.ts';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function softmax(x: number[]): number[] {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export const XSS_TEXT = '<img src=x onerror=alert(1)>';

const WORDS = ['def', ' fibonacci', '(', 'n', '):', '\n', '    ', 'if', ' n', ' <', ' 2', ':', '\n', '        ', 'return', ' n', '\n', '    ', 'return',
  ' fib', 'onacci', '(', 'n', ' -', ' 1', ')', ' +', ' fibonacci', '(', 'n', ' -', ' 2', ')', '\n', '\n', '#', ' The', ' model', ' said', ' ', XSS_TEXT, ' &amp;', ' "quoted",', ' ok', '.'];

/** T tokens of code-like text; one of them carries HTML that must render as text. */
export function makeTokens(T: number, generatedFrom = Math.floor(T * 0.75)): TokenInfo[] {
  return Array.from({ length: T }, (_, position) => {
    const text = WORDS[position % WORDS.length];
    return { id: 100 + (position % WORDS.length) * 7, text, piece: text.replace(/ /g, '▁').replace(/\n/g, '<0x0A>'), position, generated: position >= generatedFrom };
  });
}

/** Routing of T tokens through L layers of E experts, top-K. */
export function makeRouting(T: number, { layers = 6, experts = 8, topK = 2, seed = 1 } = {}): RoutingData {
  const r = rng(seed);
  const tokens = makeTokens(T);
  const L: LayerRouting[] = Array.from({ length: layers }, (_, l) => {
    const indices = new Int32Array(T * topK), weights = new Float32Array(T * topK), probs = new Float32Array(T * experts);
    for (let t = 0; t < T; t++) {
      // Experts specialise a little by token id and layer, as trained routers do, plus noise.
      const fav = (tokens[t].id * 3 + l * 5) % experts;
      const logits = Array.from({ length: experts }, (_, e) => (e === fav ? 1.8 : 0) + (r() - 0.5) * 2.5);
      const p = softmax(logits);
      probs.set(p, t * experts);
      const order = p.map((v, e) => [v, e] as const).sort((a, b) => b[0] - a[0]).slice(0, topK);
      const sum = order.reduce((s, [v]) => s + v, 0);
      order.forEach(([v, e], k) => { indices[t * topK + k] = e; weights[t * topK + k] = v / sum; });
    }
    return { indices, weights, probs };
  });
  return { tokens, experts, topK, layers: L };
}

/** The first T tokens of `data` (what a view has seen after T steps). */
export function sliceRouting(data: RoutingData, T: number): RoutingData {
  const { experts: E, topK: K } = data;
  return {
    ...data,
    tokens: data.tokens.slice(0, T),
    layers: data.layers.map((L) => ({ indices: L.indices.slice(0, T * K), weights: L.weights.slice(0, T * K), probs: L.probs.slice(0, T * E) })),
  };
}

/** Causal sliding-window GQA attention: heads in a kv group share a preference for recency. */
export function makeAttention(T: number, { heads = 8, kvHeads = 2, window = 16 as number | null, layer = 0, seed = 2 } = {}): AttentionData {
  const r = rng(seed);
  const pattern = new Float32Array(heads * T * T);
  for (let h = 0; h < heads; h++) {
    const decay = 0.08 + 0.25 * Math.floor(h / (heads / kvHeads)) + 0.05 * (h % 3);
    for (let q = 0; q < T; q++) {
      const lo = window === null ? 0 : Math.max(0, q - window + 1);
      const keys = Array.from({ length: q - lo + 1 }, (_, i) => lo + i);
      const p = softmax(keys.map((k) => -decay * (q - k) + (k === lo && h % 2 === 0 ? 2 : 0) + (r() - 0.5)));
      keys.forEach((k, i) => { pattern[h * T * T + q * T + k] = p[i]; });
    }
  }
  return { tokens: makeTokens(T), layer, heads, kvHeads, pattern, slidingWindow: window };
}

/** The first T tokens' attention: causal, so the leading T x T block of each head is exact. */
export function sliceAttention(data: AttentionData, T: number): AttentionData {
  const N = data.tokens.length;
  const pattern = new Float32Array(data.heads * T * T);
  for (let h = 0; h < data.heads; h++) for (let q = 0; q < T; q++) pattern.set(data.pattern.subarray(h * N * N + q * N, h * N * N + q * N + T), h * T * T + q * T);
  return { ...data, tokens: data.tokens.slice(0, T), pattern };
}

export function makeNextToken(position: number, n = 12, seed = 3): NextTokenData {
  const r = rng(seed + position);
  const texts = [' the', '\n', ' fibonacci', '(', ' return', XSS_TEXT, ' n', ' +', ':', ' 1', ' 2', ' if', ' else', '"', ','];
  const p = softmax(Array.from({ length: n }, (_, i) => -0.45 * i + r()));
  const candidates = p.map((prob, i) => ({ id: 500 + i, text: texts[i % texts.length], piece: texts[i % texts.length].replace(/ /g, '▁'), prob })).sort((a, b) => b.prob - a.prob);
  return { position, candidates, chosen: candidates[1].id };
}

/**
 * The first T tokens of `data` as a growing producer gives them (the site's generation): rows
 * read in place through `row`, and `sequence`, the identity shared by every size of the same data.
 */
export function streamAttention(data: AttentionData, T: number, sequence: object): AttentionData {
  const N = data.tokens.length;
  const row = (h: number, q: number) => data.pattern.subarray((h * N + q) * N, (h * N + q) * N + q + 1);
  return { ...sliceAttention(data, T), row, sequence };
}

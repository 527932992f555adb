// CPU twins of the fused WGSL kernels: each is the composition of the CPU engine's own steps
// (engine/cpu/ops.ts and the loops of engine/cpu/forward.ts) that one kernel replaces, so a kernel
// test compares the GPU against the specification, step for step. The sampler's twin is
// engine/sampling.ts itself (pickToken, topTokens).
//
// Legend: T tokens, D hidden, In/N a linear layer's widths, H/Hkv heads, Dh head width, S positions
// attended to, E experts, K experts per token, F expert width.
import { addBias, addInPlace, matmul, rmsnorm, rope, scaleInPlace, sigmoid, silu, softmaxInPlace, topk } from '../cpu/ops.ts';
import { dequantRow, type QuantMatrix } from '../quant/quantize.ts';

/**
 * lib/weights.wgsl, the q8/q4 reads of every kernel that takes a big matrix: the matrix (rows,
 * cols) as the kernels see it, dequantized as the CPU engine does (quantize.ts: dequantRow), so
 * each fused kernel's twin below takes the result as its float32 weights.
 */
export function dequantTwin(m: QuantMatrix): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) dequantRow(m, r, out.subarray(r * m.cols, (r + 1) * m.cols));
  return out;
}

/**
 * linear*.wgsl: out (T, N) = [res +] scale * (xn @ w^T [+ bias]) with xn = rmsnorm(x) * g (with g)
 * or x; also y (the scaled product) and xn.
 */
export function linearTwin(a: { x: Float32Array; w: Float32Array; T: number; In: number; N: number; g?: Float32Array; eps?: number; res?: Float32Array; bias?: Float32Array; scale?: number }): { out: Float32Array; y: Float32Array; xn: Float32Array } {
  const xn = new Float32Array(a.T * a.In);
  if (a.g) rmsnorm(xn, a.x, a.g, a.T, a.In, a.eps ?? 0); else xn.set(a.x.subarray(0, a.T * a.In));
  const y = new Float32Array(a.T * a.N);
  matmul(y, xn, a.w, a.T, a.In, a.N);
  addBias(y, a.bias, a.T, a.N);
  scaleInPlace(y, a.scale ?? 1);
  const out = y.slice();
  if (a.res) addInPlace(out, a.res);
  return { out, y, xn };
}

/**
 * qkv*.wgsl: q (T, H, Dh), k and v (T, Hkv, Dh) from rmsnorm(x) * g (+ their biases, bias holding
 * q's, k's and v's), q and k rotated at positions pos0.. unless `rope` is false.
 */
export function qkvTwin(a: { x: Float32Array; g: Float32Array; eps: number; wq: Float32Array; wk: Float32Array; wv: Float32Array; T: number; D: number; H: number; Hkv: number; Dh: number; pos0: number; theta: number; bias?: Float32Array; rope?: boolean }): { q: Float32Array; k: Float32Array; v: Float32Array } {
  const xn = new Float32Array(a.T * a.D);
  rmsnorm(xn, a.x, a.g, a.T, a.D, a.eps);
  const q = new Float32Array(a.T * a.H * a.Dh), k = new Float32Array(a.T * a.Hkv * a.Dh), v = new Float32Array(a.T * a.Hkv * a.Dh);
  matmul(q, xn, a.wq, a.T, a.D, a.H * a.Dh);
  matmul(k, xn, a.wk, a.T, a.D, a.Hkv * a.Dh);
  matmul(v, xn, a.wv, a.T, a.D, a.Hkv * a.Dh);
  if (a.bias) {
    const nq = a.H * a.Dh, nk = a.Hkv * a.Dh;
    addBias(q, a.bias.subarray(0, nq), a.T, nq);
    addBias(k, a.bias.subarray(nq, nq + nk), a.T, nk);
    addBias(v, a.bias.subarray(nq + nk), a.T, nk);
  }
  if (a.rope === false) return { q, k, v };
  rope(q, a.T, a.H, a.Dh, a.pos0, a.theta);
  rope(k, a.T, a.Hkv, a.Dh, a.pos0, a.theta);
  return { q, k, v };
}

/**
 * qk_norm.wgsl: from the unrotated projections q (T, H, Dh), k, v (T, Hkv, Dh), the normed q and
 * k (RMSNorm over each token's projection, or `perHead` over each head, times gq, gk; then
 * clamped to ±clip, v too), and q, k rotated at positions pos0.. (the attention's inputs).
 */
export function qkNormTwin(a: { q: Float32Array; k: Float32Array; v: Float32Array; gq: Float32Array; gk: Float32Array; perHead: boolean; eps: number; clip: number | null; T: number; H: number; Hkv: number; Dh: number; pos0: number; theta: number }): { qNormed: Float32Array; kNormed: Float32Array; q: Float32Array; k: Float32Array; v: Float32Array } {
  const { T, H, Hkv, Dh } = a;
  const qNormed = new Float32Array(a.q.length), kNormed = new Float32Array(a.k.length), v = a.v.slice();
  if (a.perHead) {
    rmsnorm(qNormed, a.q, a.gq, T * H, Dh, a.eps);
    rmsnorm(kNormed, a.k, a.gk, T * Hkv, Dh, a.eps);
  } else {
    rmsnorm(qNormed, a.q, a.gq, T, H * Dh, a.eps);
    rmsnorm(kNormed, a.k, a.gk, T, Hkv * Dh, a.eps);
  }
  const clip = a.clip;
  if (clip !== null) for (const x of [qNormed, kNormed, v]) for (let i = 0; i < x.length; i++) x[i] = Math.min(clip, Math.max(-clip, x[i]));
  const q = qNormed.slice(), k = kNormed.slice();
  rope(q, T, H, Dh, a.pos0, a.theta);
  rope(k, T, Hkv, Dh, a.pos0, a.theta);
  return { qNormed, kNormed, q, k, v };
}

/** shared_gate.wgsl: gate (T) = sigmoid(xn · wg), mlpOut (T, D) = scale * (routed + gate * shared), out = res + mlpOut. */
export function sharedGateTwin(a: { xn: Float32Array; wg: Float32Array; routed: Float32Array; shared: Float32Array; res: Float32Array; T: number; D: number; scale?: number; gate?: Float32Array }): { gate: Float32Array; mlpOut: Float32Array; out: Float32Array } {
  const { T, D } = a;
  let gate = a.gate;
  if (!gate) {
    gate = new Float32Array(T);
    matmul(gate, a.xn, a.wg, T, D, 1);
    for (let t = 0; t < T; t++) gate[t] = sigmoid(gate[t]);
  }
  const mlpOut = a.routed.slice(0, T * D);
  for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) mlpOut[t * D + d] += gate[t] * a.shared[t * D + d];
  scaleInPlace(mlpOut, a.scale ?? 1);
  const out = a.res.slice(0, T * D);
  addInPlace(out, mlpOut);
  return { gate, mlpOut, out };
}

/**
 * attention*.wgsl (and the merge): the pattern (H, T, S) and z (T, H, Dh) of T queries at positions
 * pos0.. over keys and values kc, vc (S, Hkv, Dh), causal with an optional window; headScale 0 zeroes a head.
 */
export function attentionTwin(a: { q: Float32Array; kc: Float32Array; vc: Float32Array; T: number; S: number; H: number; Hkv: number; Dh: number; pos0: number; window: number | null; headScale?: Float32Array }): { pattern: Float32Array; z: Float32Array } {
  const { T, S, H, Hkv, Dh } = a, group = H / Hkv, row = Hkv * Dh, scale = 1 / Math.sqrt(Dh), window = a.window ?? Infinity;
  const pattern = new Float32Array(H * T * S), z = new Float32Array(T * H * Dh);
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor(h / group);
    for (let t = 0; t < T; t++) {
      const p = a.pos0 + t, ro = (h * T + t) * S, qo = (t * H + h) * Dh;
      for (let j = 0; j < S; j++) {
        if (j > p || p - j >= window) { pattern[ro + j] = -Infinity; continue; }
        let s = 0;
        for (let d = 0; d < Dh; d++) s += a.q[qo + d] * a.kc[j * row + kvh * Dh + d];
        pattern[ro + j] = s * scale;
      }
      softmaxInPlace(pattern, ro, S);
      if (a.headScale?.[h] === 0) continue;
      for (let j = 0; j < S; j++) {
        const pj = pattern[ro + j];
        if (pj === 0) continue;
        for (let d = 0; d < Dh; d++) z[(t * H + h) * Dh + d] += pj * a.vc[j * row + kvh * Dh + d];
      }
    }
  }
  return { pattern, z };
}

/** The data interventions of one layer's router, as the router kernels read them. */
export interface RouterRules { bias?: Float32Array | null; ablated?: ReadonlySet<number>; force?: readonly { experts: number[]; weights?: number[]; positions?: number[] }[] }

/**
 * router*.wgsl: xn (T, D), the biased logits, probs (T, E) and the choice (T, K) of tokens at
 * positions pos0..; with `renorm` false the weights are the probabilities (norm_topk_prob false).
 */
export function routerTwin(a: { x: Float32Array; g: Float32Array; eps: number; gate: Float32Array; T: number; D: number; E: number; K: number; pos0: number; renorm?: boolean } & RouterRules): { xn: Float32Array; logits: Float32Array; probs: Float32Array; indices: Int32Array; weights: Float32Array } {
  const { T, D, E, K } = a, ablated = a.ablated ?? new Set<number>();
  const xn = new Float32Array(T * D);
  rmsnorm(xn, a.x, a.g, T, D, a.eps);
  const logits = new Float32Array(T * E);
  matmul(logits, xn, a.gate, T, D, E);
  if (a.bias) for (let t = 0; t < T; t++) for (let e = 0; e < E; e++) logits[t * E + e] += a.bias[e];
  const probs = new Float32Array(T * E), indices = new Int32Array(T * K), weights = new Float32Array(T * K);
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < E; e++) probs[t * E + e] = ablated.has(e) ? -Infinity : logits[t * E + e];
    softmaxInPlace(probs, t * E, E);
    const forced = a.force?.find((f) => !f.positions || f.positions.includes(a.pos0 + t));
    const chosen = forced ? forced.experts : topk(probs, t * E, E, K);
    const raw = forced?.weights ?? chosen.map((e) => probs[t * E + e]);
    const sum = raw.reduce((x, y) => x + y, 0);
    for (let k = 0; k < K; k++) {
      indices[t * K + k] = chosen[k];
      weights[t * K + k] = forced?.weights || a.renorm === false ? raw[k] : sum > 0 ? raw[k] / sum : 1 / K;
    }
  }
  return { xn, logits, probs, indices, weights };
}

/**
 * moe_*.wgsl: expertOut (T, K, D) of the chosen experts on xn (T, D), mlpOut (T, D) their weighted
 * sum (k in order), out = res + mlpOut. experts[e] holds w1, w3 (F, D) and w2 (D, F).
 */
export function moeTwin(a: { xn: Float32Array; indices: ArrayLike<number>; weights: ArrayLike<number>; experts: readonly { w1: Float32Array; w2: Float32Array; w3: Float32Array }[]; res: Float32Array; T: number; K: number; D: number; F: number }): { expertOut: Float32Array; mlpOut: Float32Array; out: Float32Array } {
  const { T, K, D, F } = a;
  const expertOut = new Float32Array(T * K * D), mlpOut = new Float32Array(T * D);
  const g = new Float32Array(F), u = new Float32Array(F);
  for (let t = 0; t < T; t++) {
    const xt = a.xn.subarray(t * D, (t + 1) * D);
    for (let k = 0; k < K; k++) {
      const ew = a.experts[a.indices[t * K + k]];
      matmul(g, xt, ew.w1, 1, D, F);
      matmul(u, xt, ew.w3, 1, D, F);
      for (let f = 0; f < F; f++) g[f] = silu(g[f]) * u[f];
      matmul(expertOut.subarray((t * K + k) * D, (t * K + k + 1) * D), g, ew.w2, 1, F, D);
    }
    for (let k = 0; k < K; k++) for (let d = 0; d < D; d++) mlpOut[t * D + d] += a.weights[t * K + k] * expertOut[(t * K + k) * D + d];
  }
  const out = a.res.slice();
  addInPlace(out, mlpOut);
  return { expertOut, mlpOut, out };
}

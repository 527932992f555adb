// The Mixtral forward pass on the CPU: the executable specification every other backend is
// checked against. It follows Hugging Face's MixtralForCausalLM step by step, in model order.
// The other families (OLMoE, Qwen2-MoE, Qwen3-MoE, Granite-MoE) run through the same steps; where
// one does something Mixtral does not, the step is a branch on `f`, the family's named
// differences (family.ts, docs/families.md).
//
// Legend: T tokens in this call, S = cache + T positions attended to, D hidden, Dh head_dim,
// H query heads, Hkv key/value heads, E experts, K experts per token, F expert width, V vocab;
// Fs shared expert width, Fd dense MLP width.
import type { MixtralConfig } from '../config.ts';
import { isMoeLayer } from '../family.ts';
import type { CpuLayerWeights, CpuWeights } from './stored-weights.ts';
import { matmulStored as matmul, rowOf, swigluStored as swiglu } from './stored-weights.ts';
import { HookRun, type ExpertChoice, type HookTensor } from '../hooks/request.ts';
import { applyPatches, interventionsForLayer, type Intervention, type LayerInterventions, type PatchableHook } from '../hooks/interventions.ts';
import { KVCache } from './kv-cache.ts';
import { addBias, addInPlace, rmsnorm, rope, scaleInPlace, sigmoid, silu, softmaxInPlace, topk } from './ops.ts';

const tensor = (shape: number[], data: Float32Array): HookTensor => ({ shape, data });

export interface CpuForwardOptions {
  cache: KVCache;
  hooks: HookRun;
  interventions: readonly Intervention[];
  /** Compute logits for every position (true) or only the last one (false, cheaper). */
  allLogits: boolean;
}

/** Run tokens `ids` at positions cache.length.. through the model; returns logits (T or 1, V). */
export function cpuForward(c: MixtralConfig, w: CpuWeights, ids: readonly number[], o: CpuForwardOptions): Float32Array {
  const T = ids.length;
  const D = c.hidden_size;
  const f = c.family;
  const pos0 = o.cache.reserve(T);
  const S = pos0 + T;

  // ---- token embeddings: x (T, D) (Granite: times embedding_multiplier)
  let x: Float32Array = new Float32Array(T * D);
  for (let t = 0; t < T; t++) rowOf(w.embed_tokens, ids[t], D, x.subarray(t * D, (t + 1) * D));
  scaleInPlace(x, f.embedding_multiplier);
  x = o.hooks.apply('hook_embed', tensor([T, D], x), null).data;

  for (let l = 0; l < c.num_hidden_layers; l++) {
    const lw = w.layers[l];
    const iv = interventionsForLayer(c, o.interventions, l);
    const name = (leaf: string) => `blocks.${l}.${leaf}`;
    // A (T, D) hook point: activation patches replace their rows first, then the hooks run.
    const point = (leaf: PatchableHook, v: Float32Array): Float32Array => {
      applyPatches(v, iv.patches.get(leaf), pos0, T, D);
      return o.hooks.apply(name(leaf), tensor([T, D], v), l).data;
    };
    x = point('hook_resid_pre', x);

    // ---- attention sub-block: x = x + m * o_proj(attention(rmsnorm(x))), m = Granite's residual_multiplier, else 1
    const xn = new Float32Array(T * D);
    rmsnorm(xn, x, lw.input_layernorm, T, D, c.rms_norm_eps);
    const attnRaw = attention(c, lw, xn, T, pos0, S, l, o.cache, o.hooks, iv);
    scaleInPlace(attnRaw, f.residual_multiplier);
    const attnOut = point('hook_attn_out', attnRaw);
    addInPlace(x, attnOut);
    x = point('hook_resid_mid', x);

    // ---- sparse MoE sub-block: x = x + m * sum_k weight_k * expert_k(rmsnorm(x)) (+ the gated shared
    //      expert), or in a dense layer (qwen's mlp_only_layers, decoder_sparse_step) x = x + mlp(rmsnorm(x))
    const xm = new Float32Array(T * D);
    rmsnorm(xm, x, lw.post_attention_layernorm, T, D, c.rms_norm_eps);
    const moeRaw = isMoeLayer(f, l) ? moe(c, lw, xm, T, pos0, l, o.hooks, iv) : denseMlp(c, lw, xm, T);
    scaleInPlace(moeRaw, f.residual_multiplier);
    const moeOut = point('hook_mlp_out', moeRaw);
    addInPlace(x, moeOut);
    x = point('hook_resid_post', x);
  }
  o.cache.length = S;

  // ---- final norm and lm_head: logits (T, V), or only the last row when that is all we need
  //      (Granite: divided by logits_scaling)
  const rows = o.allLogits || o.hooks.wants('hook_logits') || o.hooks.wants('ln_final.hook_normalized') ? T : 1;
  const last = x.subarray((T - rows) * D);
  let xf: Float32Array = new Float32Array(rows * D);
  rmsnorm(xf, last, w.norm, rows, D, c.rms_norm_eps);
  if (rows === T) xf = o.hooks.apply('ln_final.hook_normalized', tensor([T, D], xf), null).data;
  let logits: Float32Array = new Float32Array(rows * c.vocab_size);
  matmul(logits, xf, w.lm_head, rows, D, c.vocab_size);
  scaleInPlace(logits, 1 / f.logits_scaling);
  if (rows === T) logits = o.hooks.apply('hook_logits', tensor([T, c.vocab_size], logits), null).data;
  return o.allLogits ? logits : logits.subarray((rows - 1) * c.vocab_size);
}

/** Grouped-query causal attention with an optional sliding window, over the KV cache. */
function attention(
  c: MixtralConfig, lw: CpuLayerWeights, xn: Float32Array, T: number, pos0: number, S: number,
  l: number, cache: KVCache, hooks: HookRun, iv: LayerInterventions,
): Float32Array {
  const D = c.hidden_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads, Dh = c.head_dim;
  const f = c.family;
  const group = H / Hkv; // query heads per key/value head
  const name = (leaf: string) => `blocks.${l}.attn.${leaf}`;

  // q (T, H, Dh), k and v (T, Hkv, Dh) (+ biases: qwen2_moe, or attention_bias)
  let q: Float32Array = new Float32Array(T * H * Dh);
  let k: Float32Array = new Float32Array(T * Hkv * Dh);
  let v: Float32Array = new Float32Array(T * Hkv * Dh);
  matmul(q, xn, lw.q_proj, T, D, H * Dh);
  matmul(k, xn, lw.k_proj, T, D, Hkv * Dh);
  matmul(v, xn, lw.v_proj, T, D, Hkv * Dh);
  addBias(q, lw.q_proj_bias, T, H * Dh);
  addBias(k, lw.k_proj_bias, T, Hkv * Dh);
  addBias(v, lw.v_proj_bias, T, Hkv * Dh);

  // q/k norms before rotary: OLMoE's over each token's whole projection (then its clamp of q, k
  // and v to ±clip_qkv), Qwen3-MoE's over each head's Dh
  if (f.qk_norm === 'projection') {
    rmsnorm(q, q, lw.q_norm!, T, H * Dh, c.rms_norm_eps);
    rmsnorm(k, k, lw.k_norm!, T, Hkv * Dh, c.rms_norm_eps);
  } else if (f.qk_norm === 'head') {
    rmsnorm(q, q, lw.q_norm!, T * H, Dh, c.rms_norm_eps);
    rmsnorm(k, k, lw.k_norm!, T * Hkv, Dh, c.rms_norm_eps);
  }
  if (f.clip_qkv !== null) for (const a of [q, k, v]) clampInPlace(a, f.clip_qkv);
  if (f.qk_norm !== 'none') {
    q = hooks.apply(name('hook_q_normed'), tensor([T, H, Dh], q), l).data;
    k = hooks.apply(name('hook_k_normed'), tensor([T, Hkv, Dh], k), l).data;
  }

  // rotary on q and k at their absolute positions
  rope(q, T, H, Dh, pos0, c.rope_theta);
  rope(k, T, Hkv, Dh, pos0, c.rope_theta);
  q = hooks.apply(name('hook_q'), tensor([T, H, Dh], q), l).data;
  k = hooks.apply(name('hook_k'), tensor([T, Hkv, Dh], k), l).data;
  v = hooks.apply(name('hook_v'), tensor([T, Hkv, Dh], v), l).data;

  // append this call's keys and values to the cache: kc, vc (S, Hkv, Dh)
  const row = Hkv * Dh;
  cache.k[l].set(k, pos0 * row);
  cache.v[l].set(v, pos0 * row);
  const kc = cache.k[l], vc = cache.v[l];

  // scores (H, T, S): query i at position p sees key j iff 0 <= p - j < window;
  // scaled by 1/√Dh, or Granite's attention_multiplier
  const scale = f.attention_scale ?? 1 / Math.sqrt(Dh);
  const window = c.sliding_window ?? Infinity;
  let pattern: Float32Array = new Float32Array(H * T * S);
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor(h / group);
    for (let t = 0; t < T; t++) {
      const p = pos0 + t;
      const rowOff = (h * T + t) * S;
      const qo = (t * H + h) * Dh;
      for (let j = 0; j < S; j++) {
        if (j > p || p - j >= window) { pattern[rowOff + j] = -Infinity; continue; }
        const ko = j * row + kvh * Dh;
        let s = 0;
        for (let d = 0; d < Dh; d++) s += q[qo + d] * kc[ko + d];
        pattern[rowOff + j] = s * scale;
      }
      softmaxInPlace(pattern, rowOff, S);
    }
  }
  pattern = hooks.apply(name('hook_pattern'), tensor([H, T, S], pattern), l).data;

  // z (T, H, Dh) = pattern @ v, per head
  let z: Float32Array = new Float32Array(T * H * Dh);
  for (let h = 0; h < H; h++) {
    if (iv.zeroHeads.has(h)) continue;
    const kvh = Math.floor(h / group);
    for (let t = 0; t < T; t++) {
      const rowOff = (h * T + t) * S;
      const zo = (t * H + h) * Dh;
      for (let j = 0; j < S; j++) {
        const p = pattern[rowOff + j];
        if (p === 0) continue;
        const vo = j * row + kvh * Dh;
        for (let d = 0; d < Dh; d++) z[zo + d] += p * vc[vo + d];
      }
    }
  }
  z = hooks.apply(name('hook_z'), tensor([T, H, Dh], z), l).data;

  const out = new Float32Array(T * D);
  matmul(out, z, lw.o_proj, T, H * Dh, D);
  addBias(out, lw.o_proj_bias, T, D);
  return out;
}

function clampInPlace(x: Float32Array, c: number): void {
  for (let i = 0; i < x.length; i++) x[i] = Math.min(c, Math.max(-c, x[i]));
}

/** A dense layer's MLP (qwen families): one SwiGLU of width Fd, for every token. */
function denseMlp(c: MixtralConfig, lw: CpuLayerWeights, xm: Float32Array, T: number): Float32Array {
  const out = new Float32Array(T * c.hidden_size);
  swiglu(out, xm, lw.mlp_gate_proj!, lw.mlp_up_proj!, lw.mlp_down_proj!, T, c.hidden_size, c.family.dense_intermediate_size!);
  return out;
}

/** Router and SwiGLU experts: only the K chosen experts of each token are computed; then the shared expert. */
function moe(
  c: MixtralConfig, lw: CpuLayerWeights, xm: Float32Array, T: number, pos0: number,
  l: number, hooks: HookRun, iv: LayerInterventions,
): Float32Array {
  const D = c.hidden_size, E = c.num_local_experts, K = c.num_experts_per_tok, F = c.intermediate_size;
  const f = c.family;
  const name = (leaf: string) => `blocks.${l}.moe.${leaf}`;

  // router logits (T, E) = gate(x) (+ bias)
  let logits: Float32Array = new Float32Array(T * E);
  matmul(logits, xm, lw.gate, T, D, E);
  if (iv.bias) for (let t = 0; t < T; t++) for (let e = 0; e < E; e++) logits[t * E + e] += iv.bias[e];
  logits = hooks.apply(name('hook_router_logits'), tensor([T, E], logits), l).data;

  // probabilities (T, E): softmax over all experts; ablated experts can never be chosen
  let probs: Float32Array = new Float32Array(T * E);
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < E; e++) probs[t * E + e] = iv.ablated.has(e) ? -Infinity : logits[t * E + e];
    softmaxInPlace(probs, t * E, E);
  }
  probs = hooks.apply(name('hook_router_probs'), tensor([T, E], probs), l).data;

  // top-k: Mixtral-like routers take the K most probable experts, Granite's the K largest logits
  // (the same experts); the weights are renormalised to sum to 1 (Granite: a softmax over the K
  // logits, the same numbers), or, where norm_topk_prob is false, the probabilities themselves.
  // Forced experts override the router's choice.
  let choice: ExpertChoice = { shape: [T, K], indices: new Int32Array(T * K), weights: new Float32Array(T * K) };
  const renormalise = f.norm_topk_prob;
  for (let t = 0; t < T; t++) {
    const forced = iv.force.find((fe) => !fe.positions || fe.positions.includes(pos0 + t));
    let chosen: number[], raw: number[];
    if (forced) {
      chosen = forced.experts;
      raw = forced.weights ?? chosen.map((e) => probs[t * E + e]);
    } else if (f.router === 'topk-softmax') {
      const masked = Array.from({ length: E }, (_, e) => (iv.ablated.has(e) ? -Infinity : logits[t * E + e]));
      chosen = topk(masked, 0, E, K);
      const top = Float32Array.from(chosen, (e) => masked[e]);
      softmaxInPlace(top, 0, K);
      raw = Array.from(top);
    } else {
      chosen = topk(probs, t * E, E, K);
      raw = chosen.map((e) => probs[t * E + e]);
    }
    const sum = raw.reduce((a, b) => a + b, 0);
    for (let k = 0; k < K; k++) {
      choice.indices[t * K + k] = chosen[k];
      // NaN probabilities give NaN weights: the output says so, rather than route silently 1/K.
      choice.weights[t * K + k] = forced?.weights || !renormalise ? raw[k] : sum > 0 ? raw[k] / sum : Number.isNaN(sum) ? NaN : 1 / K;
    }
  }
  choice = hooks.apply(name('hook_expert_choice'), choice, l);

  // expert outputs (T, K, D): w2(silu(w1 x) * w3 x), then out (T, D) = sum_k weight * expert_k
  const wantExpertOut = hooks.wants(name('hook_expert_out'));
  let expertOut: Float32Array = new Float32Array(wantExpertOut ? T * K * D : D);
  const out = new Float32Array(T * D);
  const g = new Float32Array(F), u = new Float32Array(F);
  for (let t = 0; t < T; t++) {
    const xt = xm.subarray(t * D, (t + 1) * D);
    for (let k = 0; k < K; k++) {
      const ew = lw.experts[choice.indices[t * K + k]];
      matmul(g, xt, ew.w1, 1, D, F);
      matmul(u, xt, ew.w3, 1, D, F);
      for (let f = 0; f < F; f++) g[f] = silu(g[f]) * u[f];
      const y = wantExpertOut ? expertOut.subarray((t * K + k) * D, (t * K + k + 1) * D) : expertOut;
      matmul(y, g, ew.w2, 1, F, D);
      if (!wantExpertOut) accumulate(out, t * D, y, choice.weights[t * K + k]);
    }
  }
  if (wantExpertOut) {
    expertOut = hooks.apply(name('hook_expert_out'), tensor([T, K, D], expertOut), l).data;
    for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) {
      accumulate(out, t * D, expertOut.subarray((t * K + k) * D, (t * K + k + 1) * D), choice.weights[t * K + k]);
    }
  }

  // the shared expert (Qwen2-MoE): shared (T, D) = swiglu(x), for every token, weighted by its
  // gate (T) = sigmoid(shared_expert_gate · x)
  if (f.shared_expert_intermediate_size !== null) {
    let shared: Float32Array = new Float32Array(T * D);
    swiglu(shared, xm, lw.shared_gate_proj!, lw.shared_up_proj!, lw.shared_down_proj!, T, D, f.shared_expert_intermediate_size);
    shared = hooks.apply(name('hook_shared_out'), tensor([T, D], shared), l).data;
    let gate: Float32Array = new Float32Array(T);
    matmul(gate, xm, lw.shared_expert_gate!, T, D, 1);
    for (let t = 0; t < T; t++) gate[t] = sigmoid(gate[t]);
    gate = hooks.apply(name('hook_shared_gate'), tensor([T], gate), l).data;
    for (let t = 0; t < T; t++) accumulate(out, t * D, shared.subarray(t * D, (t + 1) * D), gate[t]);
  }
  return out;
}

function accumulate(out: Float32Array, offset: number, y: Float32Array, weight: number): void {
  for (let d = 0; d < y.length; d++) out[offset + d] += weight * y[d];
}

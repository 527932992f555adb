// The Mixtral forward pass on the GPU, in model order: the steps of engine/cpu/forward.ts, each a
// WGSL kernel (planned as data by kernels.ts), with the hook points between them. Neighbouring
// steps are fused where one kernel can do both without a pass over memory of its own: RMSNorm
// into the projections that read it, rope and the KV-cache append into the q/k/v projection, the
// residual adds into o_proj and the experts' down projection, the router into the gate, the
// final norm into lm_head. Every tensor lives in a region chosen before planning: the capture
// buffer's slot when its hook is observed (so kernels write hooks in place, no copies), a scratch
// buffer otherwise. The hook points stay addressable between the fused kernels: a hook point
// names the region holding its value at that moment, and `rerun` is the work that recomputes what
// a fused kernel derived from that value, for when something replaces it (a function hook now; a
// patch written into the region the same way).
// The other families (OLMoE, Qwen2-MoE, Qwen3-MoE, Granite-MoE) run through the same steps; what
// one does differently (family.ts) is a parameter of a step (biases, Granite's multipliers, the
// router's renormalisation) or a named branch of planLayer: q/k norms before the rotation, the
// shared expert beside the routed ones, a dense MLP in place of the experts.
// A call plans the whole forward as one list; the session walks it (capture.ts runs the function
// hooks) and submits it. The bench's scale mode plans one layer with planLayer, so the order of
// the model is written here and nowhere else on the GPU side.
//
// Legend: T tokens in this call, S = cache + T positions attended to, D hidden, Dh head_dim,
// H query heads, Hkv key/value heads, E experts, K experts per token, F expert width, V vocab;
// Fs shared expert width, Fd dense MLP width.
import type { MixtralConfig } from '../config.ts';
import { isMoeLayer } from '../family.ts';
import type { ForwardOutput } from '../engine.ts';
import { interventionsForLayer, type Intervention, type LayerInterventions } from '../hooks/interventions.ts';
import type { SamplingOptions } from '../sampling.ts';
import { copy, f32Bits, regionOf, type Binding, type Region, type Step } from './gpu.ts';
import {
  kvWords, planAdd, planAttention, planAttentionApply, planEmbed, planExperts, planExpertsGrouped, planLinear, planLinearParts,
  planQkNorm, planQkv, planRmsnorm, planRouter, planSample, planSharedGate, routerRules, sampleWords, type Kernels,
} from './kernels.ts';
import type { PassCache } from './pass-cache.ts';
import type { GpuLayer, GpuWeights } from './upload.ts';

/**
 * A hook point: the region that holds the hook's value at this moment of the forward (its shape
 * is the hook table's, hooks/names.ts; an expert choice is its indices (T, K), then its weights
 * (T, K) as f32). `rerun` is GPU work to repeat after the value was replaced.
 */
export interface HookPoint { hook: string; layer: number | null; tensor: Region; rerun?: Step[] }

/** The forward as a list: GPU work, and the hook points between it. */
export type ForwardStep = Step | HookPoint;

/** Where the forward writes the tensors that hooks observe (capture.ts lays them out). */
export interface Placement {
  /** The capture region of the tensor these hook names share, when one of them is observed in place; null: a scratch buffer. */
  tensor(names: readonly string[]): Region | null;
  /** Where layer l writes its attention pattern (block `slot` of `area`), or null when nobody wants it. */
  pattern(l: number): { area: Region; slot: number } | null;
}

/** Nothing observed: every tensor in scratch (the bench's scale mode). */
export const NOWHERE: Placement = { tensor: () => null, pattern: () => null };

/** The buffers a call computes in, one set reused by every layer (kept by the session's cache). */
export interface Scratch {
  ids: GPUBuffer;          // (T) u32 token ids (a call's sampler writes the next call's first)
  x: GPUBuffer;            // (T, D) the residual stream entering (and leaving) a layer
  mid: GPUBuffer;          // (T, D) the residual stream after attention
  qkv: GPUBuffer;          // (T, H + 2 Hkv, Dh): q, then k, then v
  normed: GPUBuffer;       // (T, H + Hkv, Dh): q, then k after their norms (families with q/k norms)
  z: GPUBuffer;            // (T, H, Dh)
  partials: GPUBuffer;     // (T, H, splits, Dh + 2) the attention's partial softmaxes
  attnOut: GPUBuffer;      // (T, D)
  xn: GPUBuffer;           // (T, D) the MoE block's RMSNorm
  routerLogits: GPUBuffer; // (T, E)
  probs: GPUBuffer;        // (T, E)
  choice: GPUBuffer;       // (2, T, K) chosen experts (u32), then their weights
  offsets: GPUBuffer;      // (E + 1) u32 where each expert's slots start in `order`
  order: GPUBuffer;        // (T * K) u32 slots grouped by expert
  h: GPUBuffer;            // (T, K, F), (T, Fs) or (T, Fd): silu(w1 x) * w3 x
  expertOut: GPUBuffer;    // (T, K, D)
  mlpOut: GPUBuffer;       // (T, D)
  routed: GPUBuffer;       // (T, D) the routed experts' sum, before the shared expert joins it
  shared: GPUBuffer;       // (T, D) the shared expert's output
  sharedGate: GPUBuffer;   // (T) its gate
  spare: GPUBuffer[];      // 2 x (T, D): outputs of the expert kernels that a step does not use
  xf: GPUBuffer;           // (rows, D) the final norm
  logits: GPUBuffer;       // (rows, V)
}

/** The scratch of a call of T tokens with `rows` rows of logits and `splits` attention splits, from `cache`. */
export function scratchFor(cache: PassCache, c: MixtralConfig, T: number, rows: number, splits: number): Scratch {
  const D = c.hidden_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads, Dh = c.head_dim;
  const E = c.num_local_experts, K = c.num_experts_per_tok, V = c.vocab_size;
  const widest = Math.max(K * c.intermediate_size, c.family.shared_expert_intermediate_size ?? 0, c.family.dense_intermediate_size ?? 0);
  const f = (label: string, floats: number) => cache.buffer(label, 4 * Math.max(4, floats));
  const family = c.model_type !== 'mixtral'; // Mixtral allocates none of the families' buffers
  const g = (label: string, floats: number) => f(label, family ? floats : 0);
  return {
    ids: f('ids', T), x: f('x', T * D), mid: f('resid mid', T * D), qkv: f('qkv', T * (H + 2 * Hkv) * Dh), z: f('z', T * H * Dh),
    normed: g('qk normed', T * (H + Hkv) * Dh), routed: g('routed experts', T * D), shared: g('shared expert', T * D), sharedGate: g('shared gate', T),
    spare: [g('spare 0', T * D), g('spare 1', T * D)],
    partials: f('attention partials', T * H * splits * (Dh + 2)), attnOut: f('attn_out', T * D), xn: f('moe xn', T * D),
    routerLogits: f('router_logits', T * E), probs: f('router_probs', T * E), choice: f('expert choice', 2 * T * K),
    offsets: f('expert offsets', E + 1), order: f('expert order', T * K), h: f('h', T * widest),
    expertOut: f('expert_out', T * K * D), mlpOut: f('mlp_out', T * D), xf: f('final norm', rows * D), logits: f('logits', rows * V),
  };
}

/** One call: T tokens at positions pos0 .. pos0 + T - 1 (S = pos0 + T), over a KV cache of `capacity` positions. */
export interface Call {
  k: Kernels; c: MixtralConfig; s: Scratch; T: number; pos0: number; S: number;
  capacity: number;
  /** Ranges each query row's attention is split into (kernels.ts: attentionSplits). */
  splits: number;
  /** The step uniform: pos0, S, splits and the sampler's draw, written once per call. */
  step: GPUBuffer;
  place: Placement;
}

/** What the head computes: `rows` rows of logits (into `logits`), and the token record (into `result`). */
export interface Head {
  rows: number;
  /** Where the logits go: a capture region when they are read back, else null (scratch). */
  logits: Region | null;
  result: Region;
  sampling: SamplingOptions | null;
  candidates: number;
}

/** The tensors of one call: a capture region if observed, else the scratch buffer, as a region. */
const where = (call: Call, names: readonly string[], scratch: GPUBuffer, bytes: number): Region =>
  call.place.tensor(names) ?? { buffer: scratch, offset: 0, size: bytes };

/** The residual stream entering layer l (l = L: leaving the last layer), by its hook names. */
export function residualNames(l: number, L: number): string[] {
  const names = l === 0 ? ['hook_embed'] : [`blocks.${l - 1}.hook_resid_post`];
  if (l < L) names.push(`blocks.${l}.hook_resid_pre`);
  return names;
}

/** The whole forward: embedding, every layer over its KV cache (S, Hkv, Dh per layer, keys then values), the head. */
export function planForward(call: Call, w: GpuWeights, kv: GPUBuffer[], interventions: readonly Intervention[], head: Head): ForwardStep[] {
  const L = call.c.num_hidden_layers, bytes = 4 * call.T * call.c.hidden_size;
  const x = Array.from({ length: L + 1 }, (_, l) => where(call, residualNames(l, L), call.s.x, bytes));
  const layers = w.layers.map((lw, l) => planLayer(call, l, lw, kv[l], interventionsForLayer(call.c, interventions, l), { x: x[l], out: x[l + 1] }));
  return [...planEmbedding(call, w, x[0]), ...layers.flat(), ...planHead(call, w, x[L], head)];
}

/** Token embeddings: x (T, D), from each part of the table that holds rows of it. */
export function planEmbedding({ k, c, s, T }: Call, w: GpuWeights, x: Region): ForwardStep[] {
  return [
    ...w.embed_tokens.map((p) => planEmbed(k, { ids: s.ids, embed: p.buffer, x, T, D: c.hidden_size, row0: p.row0, rows: p.rows, scale: c.family.embedding_multiplier })),
    { hook: 'hook_embed', layer: null, tensor: x },
  ];
}

/**
 * Decoder layer `l`: attention over its KV cache `kv` (2, capacity, Hkv, Dh), then the sparse MoE
 * (or a dense MLP), from the residual stream `io.x` (T, D) to `io.out` (T, D).
 */
export function planLayer(call: Call, l: number, w: GpuLayer, kv: GPUBuffer, iv: LayerInterventions, io: { x: Region; out: Region }): ForwardStep[] {
  const { k, c, s, T, pos0, S, step } = call;
  const D = c.hidden_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads, Dh = c.head_dim;
  const f = c.family, eps = c.rms_norm_eps, dtype = k.format;
  const { hook, at, part } = layerTools(call, l);
  const { x, out } = io;
  const mid = at(['hook_resid_mid'], s.mid, T * D);
  const qkv = at(['attn.hook_q', 'attn.hook_k', 'attn.hook_v'], s.qkv, T * (H + 2 * Hkv) * Dh);
  const [qBytes, kvBytes] = [4 * T * H * Dh, 4 * T * Hkv * Dh];
  const z = at(['attn.hook_z'], s.z, T * H * Dh), attnOut = at(['hook_attn_out'], s.attnOut, T * D);
  const pattern = call.place.pattern(l);
  const patternBlock = pattern && part(pattern.area, 4 * pattern.slot * H * T * S, 4 * H * T * S);
  // The data interventions, as small constant tables the kernels read.
  const headScale = k.cache.constant('head scale', Float32Array.from({ length: H }, (_, h) => (iv.zeroHeads.has(h) ? 0 : 1)));
  const shape = { T, H, Hkv, Dh, window: c.sliding_window, capacity: call.capacity };
  const vRow = 4 * kvWords(k, call.capacity, Hkv, Dh); // bytes to the values in kv
  const cacheRows = 4 * pos0 * Hkv * Dh;
  const rope = { theta: c.rope_theta, capacity: call.capacity, step };
  return [
    hook('hook_resid_pre', x),

    // ---- attention: x = x + m * o_proj(attention(rmsnorm(x))), m = Granite's residual_multiplier, else 1
    // q, k, v (+ biases), rotated and appended to the cache; with q/k norms, those come first (planQkNorms)
    planQkv(k, { x, g: w.input_layernorm, eps, wq: w.q_proj, wk: w.k_proj, wv: w.v_proj, qkv, kv, T, D, H, Hkv, Dh, ...rope, bias: w.family.qkv_bias, rope: f.qk_norm === 'none' }),
    ...(f.qk_norm === 'none' ? [] : planQkNorms(call, l, w, kv, qkv)),
    hook('attn.hook_q', part(qkv, 0, qBytes)),
    // A replaced k or v goes to the cache rows the kernel wrote (f32 caches; capture.ts refuses f16).
    hook('attn.hook_k', part(qkv, qBytes, kvBytes), [copy(qkv.buffer, qkv.offset + qBytes, kv, cacheRows, kvBytes)]),
    hook('attn.hook_v', part(qkv, qBytes + kvBytes, kvBytes), [copy(qkv.buffer, qkv.offset + qBytes + kvBytes, kv, vRow + cacheRows, kvBytes)]),
    ...planAttention(k, { ...shape, qkv, kv, headScale, pattern: pattern?.area ?? null, patternSlot: pattern?.slot ?? 0, z, partials: s.partials, splits: call.splits, S, step, scale: f.attention_scale ?? undefined }), // z (T, H, Dh), pattern (H, T, S)
    ...(patternBlock ? [hook('attn.hook_pattern', patternBlock, [planAttentionApply(k, { ...shape, pattern: pattern!.area, patternSlot: pattern!.slot, kv, headScale, z, step })])] : []),
    hook('attn.hook_z', z),
    planLinear(k, { x: z, w: w.o_proj, res: x, y: attnOut, out: mid, T, In: H * Dh, N: D, dtype, bias: w.family.o_proj_bias, scale: f.residual_multiplier }), // attn_out (T, D); mid = x + attn_out
    hook('hook_attn_out', attnOut, [planAdd(k, { a: x, b: attnOut, out: mid, n: T * D })]),
    hook('hook_resid_mid', mid),

    // ---- sparse MoE: x = x + m * sum_k weight_k * expert_k(rmsnorm(x)) (+ the gated shared expert),
    //      only the chosen experts run; or a dense MLP: x = x + mlp(rmsnorm(x))
    ...(isMoeLayer(f, l) ? planMoe(call, l, w, iv, { mid, out }) : planDenseMlp(call, l, w, { mid, out })),
    hook('hook_resid_post', out),
  ];
}

/** Hook points of layer l, its tensors' regions (capture or scratch), and a region's sub-range. */
function layerTools(call: Call, l: number) {
  const name = (leaf: string) => `blocks.${l}.${leaf}`;
  return {
    hook: (leaf: string, tensor: Region, rerun?: Step[]): HookPoint => ({ hook: name(leaf), layer: l, tensor, ...(rerun ? { rerun } : {}) }),
    at: (leaves: string[], scratch: GPUBuffer, floats: number) => where(call, leaves.map(name), scratch, 4 * floats),
    part: (r: Region, offset: number, bytes: number): Region => ({ buffer: r.buffer, offset: r.offset + offset, size: bytes }),
  };
}

/**
 * OLMoE's and Qwen3-MoE's q/k norms, after planQkv wrote the projections unrotated into `qkv`:
 * normed q (T, H, Dh) and k (T, Hkv, Dh) (OLMoE: then clamped, with v), then rotated into `qkv`
 * and appended to the cache with v. A replaced normed q or k is rotated and appended again.
 */
function planQkNorms(call: Call, l: number, w: GpuLayer, kv: GPUBuffer, qkv: Region): ForwardStep[] {
  const { k, c, s, T, step } = call;
  const H = c.num_attention_heads, Hkv = c.num_key_value_heads, Dh = c.head_dim, f = c.family;
  const { hook, at, part } = layerTools(call, l);
  const normed = at(['attn.hook_q_normed', 'attn.hook_k_normed'], s.normed, T * (H + Hkv) * Dh);
  const norms = (stage: 0 | 1) => planQkNorm(k, {
    qkv, gq: w.family.q_norm!, gk: w.family.k_norm!, normed, kv, T, H, Hkv, Dh, perHead: f.qk_norm === 'head', eps: c.rms_norm_eps,
    clip: f.clip_qkv, theta: c.rope_theta, capacity: call.capacity, step, stage,
  });
  return [
    norms(0),
    hook('attn.hook_q_normed', part(normed, 0, 4 * T * H * Dh), [norms(1)]),
    hook('attn.hook_k_normed', part(normed, 4 * T * H * Dh, 4 * T * Hkv * Dh), [norms(1)]),
  ];
}

/**
 * The sparse MoE block from the residual stream `mid` (T, D) to `out`: the router, the chosen
 * experts, and where the family has one (Qwen2-MoE) the shared expert with its sigmoid gate.
 */
function planMoe(call: Call, l: number, w: GpuLayer, iv: LayerInterventions, io: { mid: Region; out: Region }): ForwardStep[] {
  const { k, c, s, T, step } = call;
  const D = c.hidden_size, E = c.num_local_experts, K = c.num_experts_per_tok, f = c.family;
  const { hook, at } = layerTools(call, l);
  const { mid, out } = io;
  const logits = at(['moe.hook_router_logits'], s.routerLogits, T * E), probs = at(['moe.hook_router_probs'], s.probs, T * E);
  const choice = at(['moe.hook_expert_choice'], s.choice, 2 * T * K);
  const expertOut = at(['moe.hook_expert_out'], s.expertOut, T * K * D), mlpOut = at(['hook_mlp_out'], s.mlpOut, T * D);
  const rules = k.cache.constant('router rules', routerRules(E, K, iv));
  const router = (stage: 0 | 1 | 2) => planRouter(k, {
    T, D, E, K, eps: c.rms_norm_eps, stage, x: mid, g: w.post_attention_layernorm, gate: w.gate, rules, xn: s.xn, logits, probs, choice, step, renorm: f.norm_topk_prob,
  });
  const m = f.residual_multiplier;
  const steps: ForwardStep[] = [
    router(0),                                                                          // xn; logits (T, E) + bias; probs; choice
    // The router adds the bias, so the hook sees the logits biased; a replacement goes through the router again, without it.
    hook('moe.hook_router_logits', logits, [router(1)]),
    hook('moe.hook_router_probs', probs, [router(2)]),
    hook('moe.hook_expert_choice', choice),
  ];
  if (!w.family.shared) {
    return [
      ...steps,
      ...planChosenExperts(call, w, { choice, res: mid, expertOut, mlpOut, out, scale: m }), // expert_out (T, K, D), mlp_out (T, D); out = mid + mlp_out
      hook('moe.hook_expert_out', expertOut),
      hook('hook_mlp_out', mlpOut, [planAdd(k, { a: mid, b: mlpOut, out, n: T * D })]),
    ];
  }
  // The shared expert: its SwiGLU runs as an expert that every token chooses with weight 1; then
  // mlp_out = m * (routed + gate * shared) and out = mid + mlp_out, one kernel (shared_gate.wgsl).
  const sh = w.family.shared, Fs = f.shared_expert_intermediate_size!;
  const shared = at(['moe.hook_shared_out'], s.shared, T * D), gate = at(['moe.hook_shared_gate'], s.sharedGate, T);
  const combine = (stage: 0 | 1) => planSharedGate(k, { xn: s.xn, wg: sh.gate, routed: s.routed, shared, res: mid, gate, mlpOut, out, T, D, scale: m, stage });
  return [
    ...steps,
    ...planChosenExperts(call, w, { choice, res: mid, expertOut, mlpOut: s.routed, out: s.spare[0] }), // expert_out (T, K, D), routed (T, D)
    hook('moe.hook_expert_out', expertOut),
    ...planEveryToken(call, { w1: sh.w1, w3: sh.w3, w2: sh.w2, F: Fs, res: mid, y: shared, sum: s.spare[0], out: s.spare[1] }), // shared (T, D)
    combine(0),                                                                         // gate (T); mlp_out (T, D); out = mid + mlp_out
    hook('moe.hook_shared_out', shared, [combine(1)]),
    hook('moe.hook_shared_gate', gate, [combine(1)]),
    hook('hook_mlp_out', mlpOut, [planAdd(k, { a: mid, b: mlpOut, out, n: T * D })]),
  ];
}

/** A dense layer's MLP (Qwen's mlp_only_layers, decoder_sparse_step): mlp_out (T, D) = m * swiglu(rmsnorm(mid)), out = mid + mlp_out. */
function planDenseMlp(call: Call, l: number, w: GpuLayer, io: { mid: Region; out: Region }): ForwardStep[] {
  const { k, c, s, T } = call;
  const D = c.hidden_size, f = c.family, mlp = w.family.mlp!;
  const { hook, at } = layerTools(call, l);
  const { mid, out } = io;
  const mlpOut = at(['hook_mlp_out'], s.mlpOut, T * D);
  return [
    planRmsnorm(k, { x: mid, g: w.post_attention_layernorm, out: s.xn, T, D, eps: c.rms_norm_eps }),             // xn (T, D)
    ...planEveryToken(call, { w1: mlp.w1, w3: mlp.w3, w2: mlp.w2, F: f.dense_intermediate_size!, res: mid, y: s.spare[0], sum: mlpOut, out, scale: f.residual_multiplier }),
    hook('hook_mlp_out', mlpOut, [planAdd(k, { a: mid, b: mlpOut, out, n: T * D })]),
  ];
}

/**
 * A SwiGLU MLP that every token runs (the shared expert, a dense layer's MLP), on xn (T, D): the
 * expert kernels with one expert that each token chooses with weight 1. y (T, D) its output, sum
 * = scale * y, out = res + sum.
 */
function planEveryToken({ k, c, s, T }: Call, a: { w1: GPUBuffer; w3: GPUBuffer; w2: GPUBuffer; F: number; res: Binding; y: Binding; sum: Binding; out: Binding; scale?: number }) {
  const one = k.cache.constant('every token, expert 0', Uint32Array.from({ length: 2 * T }, (_, i) => (i < T ? 0 : f32Bits(1))));
  return planExperts(k, {
    experts: 1, T, K: 1, D: c.hidden_size, F: a.F, x: s.xn, choice: one, w1: a.w1, w3: a.w3, w2: a.w2, h: s.h, res: a.res, expertOut: a.y, mlpOut: a.sum, out: a.out, scale: a.scale,
  });
}

/**
 * The chosen experts of every token, xn (T, D) in, expert_out (T, K, D), their weighted sum
 * mlp_out (T, D) (times `scale`) and out = res + mlp_out. Decode runs each as a matrix-vector
 * product; prefill groups the tokens by expert on the GPU, so that each expert's weights are read
 * once per tile of its tokens.
 */
function planChosenExperts({ k, c, s, T }: Call, w: GpuLayer, a: { choice: Binding; res: Binding; expertOut: Binding; mlpOut: Binding; out: Binding; scale?: number }) {
  const D = c.hidden_size, E = c.num_local_experts, K = c.num_experts_per_tok, F = c.intermediate_size;
  const routed = { T, K, D, F, x: s.xn, h: s.h, ...a };
  if (T === 1 && w.w1.length === 1) return planExperts(k, { ...routed, experts: E, w1: w.w1[0].buffer, w3: w.w3[0].buffer, w2: w.w2[0].buffer });
  return planExpertsGrouped(k, { ...routed, E, w1: w.w1, w3: w.w3, w2: w.w2, offsets: s.offsets, order: s.order });
}

/**
 * The final norm and lm_head, fused: logits (rows, V) of the last `rows` rows of x, and the token
 * (the argmax, or a draw) with the candidates, picked on the GPU into the result record. Only the
 * last row goes through lm_head unless `rows` is T (all logits, or a hook on them, are wanted).
 */
export function planHead(call: Call, w: GpuWeights, x: Region, head: Head): ForwardStep[] {
  const { k, c, s, T, step } = call;
  const D = c.hidden_size, V = c.vocab_size, eps = c.rms_norm_eps, dtype = k.format, rows = head.rows;
  const scale = 1 / c.family.logits_scaling; // Granite divides its logits; 1 elsewhere
  const logits = head.logits ?? { buffer: s.logits, offset: 0, size: 4 * rows * V };
  const xf = where(call, ['ln_final.hook_normalized'], s.xf, 4 * rows * D);
  const all = rows === T;
  const toLogits = (fromNorm: boolean) => planLinearParts(k, {
    ...(fromNorm ? { x: xf } : { x, g: w.norm, eps, xRow0: T - rows, xn: all ? xf : undefined }), parts: w.lm_head, out: logits, T: rows, In: D, N: V, dtype, scale,
  });
  const steps: ForwardStep[] = [...toLogits(false)]; // ---- final norm and lm_head: xf (rows, D), logits (rows, V)
  if (all) {
    // A replaced norm goes through lm_head again.
    steps.push({ hook: 'ln_final.hook_normalized', layer: null, tensor: xf, rerun: toLogits(true) });
    steps.push({ hook: 'hook_logits', layer: null, tensor: logits });
  }
  // ---- the token and the candidates, from the last row
  const n = head.candidates;
  if (head.result.size < 4 * sampleWords(n)) throw new Error(`the result record holds ${head.result.size} bytes, needs ${4 * sampleWords(n)}`);
  steps.push(planSample(k, { logits, row: (rows - 1) * V, V, sampling: head.sampling, candidates: n, out: head.result, ids: s.ids, step }));
  return steps;
}

export { regionOf };

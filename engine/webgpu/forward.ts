// The Mixtral forward pass on the GPU, in model order: the steps of engine/cpu/forward.ts, each a
// WGSL kernel (planned as data by kernels.ts) or a copy, with the hook points between them. A call
// plans the whole forward as one list; the session walks it (capture.ts runs the hooks) and
// submits it as one command buffer. The bench's scale mode plans one layer with planLayer, so
// the order of the model is written here and nowhere else on the GPU side.
//
// Legend: T tokens in this call, S = cache + T positions attended to, D hidden, Dh head_dim,
// H query heads, Hkv key/value heads, E experts, K experts per token, F expert width, V vocab.
import type { MixtralConfig } from '../config.ts';
import type { ForwardOutput } from '../engine.ts';
import { interventionsForLayer, type Intervention, type LayerInterventions } from '../hooks/interventions.ts';
import { copy, type Pass, type Step } from './gpu.ts';
import {
  planAdd, planArgmax, planAttention, planEmbed, planExperts, planExpertsGrouped, planMatmul, planMatmulParts,
  planRmsnorm, planRope, planRouter, routerRules, type Kernels,
} from './kernels.ts';
import type { PassCache } from './pass-cache.ts';
import type { GpuLayer, GpuWeights } from './upload.ts';

/**
 * A hook point: the buffer that holds the hook's value at this moment of the forward (its shape
 * is the hook table's, hooks/names.ts). The expert choice is two buffers, indices and weights.
 * `rerun` is GPU work to repeat after a function hook has replaced the value.
 */
export type HookPoint =
  | { hook: string; layer: number | null; tensor: GPUBuffer; rerun?: Pass[] }
  | { hook: string; layer: number; indices: GPUBuffer; weights: GPUBuffer };

/** The forward as a list: GPU work, and the hook points between it. */
export type ForwardStep = Step | HookPoint;

/** The buffers a call computes in, one set reused by every layer (kept by the session's cache). */
export interface Scratch {
  ids: GPUBuffer;          // (T) u32 token ids
  x: GPUBuffer;            // (T, D) the residual stream
  xn: GPUBuffer;           // (T, D) its RMSNorm
  q: GPUBuffer;            // (T, H, Dh)
  k: GPUBuffer;            // (T, Hkv, Dh)
  v: GPUBuffer;            // (T, Hkv, Dh)
  att: GPUBuffer;          // (H, T, S) the attention pattern, rows of S
  z: GPUBuffer;            // (T, H, Dh)
  attnOut: GPUBuffer;      // (T, D)
  routerLogits: GPUBuffer; // (T, E)
  probs: GPUBuffer;        // (T, E)
  idx: GPUBuffer;          // (T, K) u32 chosen experts
  weights: GPUBuffer;      // (T, K) their weights
  offsets: GPUBuffer;      // (E + 1) u32 where each expert's slots start in `order`
  order: GPUBuffer;        // (T * K) u32 slots grouped by expert
  h: GPUBuffer;            // (T, K, F) silu(w1 x) * w3 x
  expertOut: GPUBuffer;    // (T, K, D)
  moeOut: GPUBuffer;       // (T, D)
  last: GPUBuffer;         // (D) the last row of x
  xf: GPUBuffer;           // (rows, D) the final norm
  logits: GPUBuffer;       // (rows, V)
  lastLogits: GPUBuffer;   // (V)
  token: GPUBuffer;        // (1) u32 the argmax
}

/**
 * The scratch of a call of T tokens with `rows` rows of logits, from `cache` (the same buffers
 * call after call while they are large enough). The pattern holds up to `width` positions, so
 * that it does not grow with every decode step.
 */
export function scratchFor(cache: PassCache, c: MixtralConfig, T: number, rows: number, width: number): Scratch {
  const D = c.hidden_size, H = c.num_attention_heads, kv = c.num_key_value_heads * c.head_dim;
  const E = c.num_local_experts, K = c.num_experts_per_tok, V = c.vocab_size;
  const f = (label: string, floats: number) => cache.buffer(label, 4 * Math.max(1, floats));
  return {
    ids: f('ids', T), x: f('x', T * D), xn: f('xn', T * D),
    q: f('q', T * H * c.head_dim), k: f('k', T * kv), v: f('v', T * kv), att: f('att', H * T * width), z: f('z', T * H * c.head_dim),
    attnOut: f('attn_out', T * D), routerLogits: f('router_logits', T * E), probs: f('router_probs', T * E),
    idx: f('idx', T * K), weights: f('weights', T * K), offsets: f('expert offsets', E + 1), order: f('expert order', T * K),
    h: f('h', T * K * c.intermediate_size), expertOut: f('expert_out', T * K * D), moeOut: f('moe_out', T * D),
    last: f('last row', D), xf: f('final norm', rows * D), logits: f('logits', rows * V), lastLogits: f('last logits', V), token: f('token', 1),
  };
}

/** One call: T tokens at positions pos0 .. pos0 + T - 1, attending to S = pos0 + T positions. */
export interface Call { k: Kernels; c: MixtralConfig; s: Scratch; T: number; pos0: number; S: number }

/** What the head computes and where the result goes (the start of the readback buffer). */
export interface Head { rows: number; output: ForwardOutput; readback: GPUBuffer }

/** The whole forward: embedding, every layer over its KV cache, the head. */
export function planForward(call: Call, w: GpuWeights, cache: { k: GPUBuffer[]; v: GPUBuffer[] }, interventions: readonly Intervention[], head: Head): ForwardStep[] {
  const layers = w.layers.map((lw, l) => planLayer(call, l, lw, { k: cache.k[l], v: cache.v[l] }, interventionsForLayer(call.c, interventions, l)));
  return [...planEmbedding(call, w), ...layers.flat(), ...planHead(call, w, head)];
}

/** Token embeddings: x (T, D), from each part of the table that holds rows of it. */
export function planEmbedding({ k, c, s, T }: Call, w: GpuWeights): ForwardStep[] {
  return [
    ...w.embed_tokens.map((p) => planEmbed(k, { ids: s.ids, embed: p.buffer, x: s.x, T, D: c.hidden_size, row0: p.row0, rows: p.rows })),
    { hook: 'hook_embed', layer: null, tensor: s.x },
  ];
}

/** Decoder layer `l`: attention over its KV cache `cache` (S, Hkv, Dh), then the sparse MoE. */
export function planLayer(call: Call, l: number, w: GpuLayer, cache: { k: GPUBuffer; v: GPUBuffer }, iv: LayerInterventions): ForwardStep[] {
  const { k, c, s, T, pos0, S } = call;
  const D = c.hidden_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads, Dh = c.head_dim;
  const E = c.num_local_experts, K = c.num_experts_per_tok;
  const eps = c.rms_norm_eps, theta = c.rope_theta, dtype = k.f16Weights ? 'f16' : 'f32';
  const kv = Hkv * Dh;
  const hook = (leaf: string, tensor: GPUBuffer): HookPoint => ({ hook: `blocks.${l}.${leaf}`, layer: l, tensor });
  // The data interventions, as small constant tables the kernels read.
  const headScale = k.cache.constant('head scale', Float32Array.from({ length: H }, (_, h) => (iv.zeroHeads.has(h) ? 0 : 1)));
  const ablated = k.cache.constant('ablated', Uint32Array.from({ length: E }, (_, e) => (iv.ablated.has(e) ? 1 : 0)));
  const rules = k.cache.constant('rules', routerRules(K, iv.force));
  const router = (bias: Float32Array) => planRouter(k, {
    T, E, K, pos0, bias: k.cache.constant('router bias', bias), ablated, rules, logits: s.routerLogits, probs: s.probs, idx: s.idx, weights: s.weights,
  });
  return [
    hook('hook_resid_pre', s.x),

    // ---- attention: x = x + o_proj(attention(rmsnorm(x)))
    planRmsnorm(k, { x: s.x, w: w.input_layernorm, out: s.xn, T, D, eps }),           // xn (T, D)
    planMatmul(k, { x: s.xn, w: w.q_proj, out: s.q, T, In: D, N: H * Dh, dtype }),     // q (T, H, Dh)
    planMatmul(k, { x: s.xn, w: w.k_proj, out: s.k, T, In: D, N: kv, dtype }),         // k (T, Hkv, Dh)
    planMatmul(k, { x: s.xn, w: w.v_proj, out: s.v, T, In: D, N: kv, dtype }),         // v (T, Hkv, Dh)
    planRope(k, { x: s.q, T, heads: H, Dh, pos0, theta }),                              // rotary on q and k at positions pos0..
    planRope(k, { x: s.k, T, heads: Hkv, Dh, pos0, theta }),
    hook('attn.hook_q', s.q), hook('attn.hook_k', s.k), hook('attn.hook_v', s.v),
    copy(s.k, 0, cache.k, 4 * pos0 * kv, 4 * T * kv),                                  // append k and v to the cache (S, Hkv, Dh)
    copy(s.v, 0, cache.v, 4 * pos0 * kv, 4 * T * kv),
    ...planAttention(k, { T, S, H, Hkv, Dh, pos0, window: c.sliding_window, q: s.q, kcache: cache.k, vcache: cache.v, att: s.att, headScale, z: s.z }), // pattern (H, T, S), z (T, H, Dh)
    hook('attn.hook_pattern', s.att), hook('attn.hook_z', s.z),
    planMatmul(k, { x: s.z, w: w.o_proj, out: s.attnOut, T, In: H * Dh, N: D, dtype }), // attn_out (T, D)
    hook('hook_attn_out', s.attnOut),
    planAdd(k, { out: s.x, x: s.attnOut, n: T * D }),                                  // x += attn_out
    hook('hook_resid_mid', s.x),

    // ---- sparse MoE: x = x + sum_k weight_k * expert_k(rmsnorm(x)), only the chosen experts run
    planRmsnorm(k, { x: s.x, w: w.post_attention_layernorm, out: s.xn, T, D, eps }),   // xn (T, D)
    planMatmul(k, { x: s.xn, w: w.gate, out: s.routerLogits, T, In: D, N: E, dtype: 'f32' }), // router logits (T, E)
    router(iv.bias ?? new Float32Array(E)),                                            // + bias; probs (T, E); idx, weights (T, K)
    // The router adds the bias in place, so a function hook sees the logits biased; what it
    // returns goes through the router again, without the bias.
    { ...hook('moe.hook_router_logits', s.routerLogits), rerun: [router(new Float32Array(E))] },
    hook('moe.hook_router_probs', s.probs),
    { hook: `blocks.${l}.moe.hook_expert_choice`, layer: l, indices: s.idx, weights: s.weights },
    ...planChosenExperts(call, w),                                                      // expert_out (T, K, D), moe_out (T, D)
    hook('moe.hook_expert_out', s.expertOut),
    hook('hook_mlp_out', s.moeOut),
    planAdd(k, { out: s.x, x: s.moeOut, n: T * D }),                                   // x += moe_out
    hook('hook_resid_post', s.x),
  ];
}

/**
 * The chosen experts of every token, xn (T, D) in, expert_out (T, K, D) and their weighted sum
 * moe_out (T, D) out. Decode runs each as a matrix-vector product; prefill groups the tokens by
 * expert on the GPU, so that each expert's weights are read once per tile of its tokens.
 */
function planChosenExperts({ k, c, s, T }: Call, w: GpuLayer): Pass[] {
  const D = c.hidden_size, E = c.num_local_experts, K = c.num_experts_per_tok, F = c.intermediate_size;
  const routed = { T, K, D, F, x: s.xn, idx: s.idx, weights: s.weights, h: s.h, expertOut: s.expertOut, out: s.moeOut };
  if (T === 1 && w.w1.length === 1) return planExperts(k, { ...routed, w1: w.w1[0].buffer, w3: w.w3[0].buffer, w2: w.w2[0].buffer });
  return planExpertsGrouped(k, { ...routed, E, w1: w.w1, w3: w.w3, w2: w.w2, offsets: s.offsets, order: s.order });
}

/**
 * The final norm, lm_head and the result, copied to the start of the readback buffer: the last
 * row's logits (V), every row's (T, V), or the last row's argmax (one u32). Only the last row
 * goes through lm_head unless `rows` is T (all logits, or a hook on them, are wanted).
 */
export function planHead({ k, c, s, T }: Call, w: GpuWeights, { rows, output, readback }: Head): ForwardStep[] {
  const D = c.hidden_size, V = c.vocab_size, eps = c.rms_norm_eps, dtype = k.f16Weights ? 'f16' : 'f32';
  const steps: ForwardStep[] = [];
  // ---- final norm: xf (rows, D), of the last row alone when that is all that is needed
  const src = rows === 1 && T > 1 ? s.last : s.x;
  if (src === s.last) steps.push(copy(s.x, 4 * (T - 1) * D, s.last, 0, 4 * D));
  steps.push(planRmsnorm(k, { x: src, w: w.norm, out: s.xf, T: rows, D, eps }));
  if (rows === T) steps.push({ hook: 'ln_final.hook_normalized', layer: null, tensor: s.xf });
  // ---- lm_head: logits (rows, V), one dispatch per part of the table
  steps.push(...planMatmulParts(k, { x: s.xf, parts: w.lm_head, out: s.logits, T: rows, In: D, N: V, dtype }));
  if (rows === T) steps.push({ hook: 'hook_logits', layer: null, tensor: s.logits });
  // ---- the result: logits, or the greedy token picked on the GPU so that 4 bytes come back
  const lastRow = 4 * (rows - 1) * V;
  if (output !== 'argmax') return [...steps, copy(s.logits, output === 'all' ? 0 : lastRow, readback, 0, 4 * (output === 'all' ? T : 1) * V)];
  const last = rows > 1 ? s.lastLogits : s.logits;
  if (last === s.lastLogits) steps.push(copy(s.logits, lastRow, s.lastLogits, 0, 4 * V));
  return [...steps, planArgmax(k, { x: last, n: V, out: s.token }), copy(s.token, 0, readback, 0, 4)];
}

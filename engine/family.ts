// The MoE families beside Mixtral, each a small named set of differences from it (docs/families.md
// has the sources). A config.json of any family is read in two steps: `toMixtralNames` renames its
// fields into Mixtral's vocabulary with that family's transformers defaults (so the one parser in
// config.ts checks every family the same way), then `readFamilyTraits` reads what Mixtral has not.
// Everything here is plain data: configs cross into Web Workers by structured clone.
//
// Letters: D hidden, H query heads, Hkv key/value heads, Dh head_dim, E routed experts, K experts
// per token, F routed expert width, L layers.
import { CheckpointError, describeValue } from './errors.ts';

export const MODEL_TYPES = ['mixtral', 'olmoe', 'qwen2_moe', 'qwen3_moe', 'granitemoe'] as const;
export type ModelType = (typeof MODEL_TYPES)[number];

/** What a family does differently from Mixtral, resolved for one config. */
export interface FamilyTraits {
  model_type: ModelType;
  /** How people name the family: "Mixtral", "OLMoE", ... */
  name: string;
  /**
   * The router's order of operations. 'softmax-topk' (softmax over all E, then top-k) and
   * 'topk-softmax' (Granite: top-k of the logits, softmax over those K) choose the same experts
   * with the same weights; both are kept by name because learners read the difference.
   */
  router: 'softmax-topk' | 'topk-softmax';
  /** Top-k weights divided by their sum; false: the weights are the softmax probabilities themselves. */
  norm_topk_prob: boolean;
  /** q/k RMSNorm before RoPE: over the whole projection (OLMoE), per head over Dh (Qwen3-MoE), or none. */
  qk_norm: 'none' | 'projection' | 'head';
  /** Biases on q_proj, k_proj, v_proj; and on o_proj. */
  qkv_bias: boolean;
  o_bias: boolean;
  /** OLMoE: q, k and v clamped to ±clip_qkv after the norms; null: no clamp. */
  clip_qkv: number | null;
  /** Width of the always-active shared expert (gated by a sigmoid), or null when there is none. */
  shared_expert_intermediate_size: number | null;
  /** Width of a dense MLP layer, for families that have dense layers among sparse ones; else null. */
  dense_intermediate_size: number | null;
  /** A layer l is sparse iff l is not listed here and (l + 1) % decoder_sparse_step === 0. */
  mlp_only_layers: number[];
  decoder_sparse_step: number;
  /** Granite's multipliers (1 elsewhere): embeddings, both residual branches, logits divided by. */
  embedding_multiplier: number;
  residual_multiplier: number;
  logits_scaling: number;
  /** The attention score scale: 1/√Dh, or Granite's attention_multiplier. */
  attention_scale: number | null;
}

/** Per family: its display name, the names it gives Mixtral's fields, and transformers' defaults. */
interface FamilyFields {
  name: string;
  /** Field that holds E, field that holds the routed experts' width F. */
  experts: string;
  expertWidth: string;
  /** Reads head_dim from config.json (else D / H, and a differing head_dim is refused). */
  readsHeadDim: boolean;
  defaults: Record<string, unknown>;
}

const FIELDS: Record<ModelType, FamilyFields> = {
  mixtral: { name: 'Mixtral', experts: 'num_local_experts', expertWidth: 'intermediate_size', readsHeadDim: true, defaults: {} },
  olmoe: {
    name: 'OLMoE', experts: 'num_experts', expertWidth: 'intermediate_size', readsHeadDim: false,
    defaults: { num_experts: 64, num_experts_per_tok: 8, intermediate_size: 2048, rms_norm_eps: 1e-5, rope_theta: 10000 },
  },
  qwen2_moe: {
    name: 'Qwen2-MoE', experts: 'num_experts', expertWidth: 'moe_intermediate_size', readsHeadDim: false,
    defaults: { num_experts: 60, num_experts_per_tok: 4, moe_intermediate_size: 1408, intermediate_size: 5632, rms_norm_eps: 1e-6, rope_theta: 1e6 },
  },
  qwen3_moe: {
    name: 'Qwen3-MoE', experts: 'num_experts', expertWidth: 'moe_intermediate_size', readsHeadDim: true,
    defaults: { num_experts: 128, num_experts_per_tok: 8, moe_intermediate_size: 768, intermediate_size: 6144, rms_norm_eps: 1e-6, rope_theta: 10000 },
  },
  granitemoe: {
    name: 'Granite-MoE', experts: 'num_local_experts', expertWidth: 'intermediate_size', readsHeadDim: false,
    defaults: { num_local_experts: 8, num_experts_per_tok: 2, intermediate_size: 11008, rms_norm_eps: 1e-6, rope_theta: 10000 },
  },
};

function fail(message: string): never {
  throw new CheckpointError('bad-config', 'config.json', message);
}

/** The model_type of a config.json object; a config without one is Mixtral's (older files). */
export function modelTypeOf(r: Record<string, unknown>): ModelType {
  const t = r.model_type ?? 'mixtral';
  if (!(MODEL_TYPES as readonly unknown[]).includes(t)) {
    const shown = typeof t === 'string' ? `"${t.slice(0, 40)}"` : typeof t;
    const quoted = MODEL_TYPES.map((m) => `"${m}"`);
    fail(`model_type is ${shown}, expected ${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`);
  }
  return t as ModelType;
}

/** A config field with transformers' rule: absent or null means the default. */
const get = (r: Record<string, unknown>, key: string, fallback: unknown): unknown => r[key] ?? fallback;

/**
 * A copy of config.json `r` with Mixtral's field names and this family's defaults filled in:
 * num_local_experts = E, intermediate_size = the routed experts' width F. Fields the family does
 * not support with the semantics Mixscope implements are refused here, by name.
 */
export function toMixtralNames(r: Record<string, unknown>, type: ModelType): Record<string, unknown> {
  if (type === 'mixtral') return r;
  const f = FIELDS[type];
  const out: Record<string, unknown> = { ...f.defaults };
  for (const [k, v] of Object.entries(r)) if (v !== null && v !== undefined) out[k] = v;
  if (get(r, 'hidden_act', 'silu') !== 'silu') fail(`hidden_act ${JSON.stringify(r.hidden_act)} is not supported (every ${f.name} checkpoint uses "silu")`);
  if (r.rope_scaling !== undefined && r.rope_scaling !== null) fail(`rope_scaling is not supported for ${type}`);
  if (r.use_sliding_window === true) fail(`use_sliding_window: true is not supported for ${type} (transformers versions disagree on which layers slide)`);
  out.num_local_experts = out[f.experts];
  out.intermediate_size = out[f.expertWidth];
  // Qwen configs carry a sliding_window that only applies with use_sliding_window; no family here slides.
  out.sliding_window = null;
  if (!f.readsHeadDim) {
    const D = r.hidden_size, H = r.num_attention_heads;
    if (typeof D === 'number' && typeof H === 'number' && H > 0 && r.head_dim !== undefined && r.head_dim !== null && r.head_dim !== D / H) {
      fail(`head_dim (${JSON.stringify(r.head_dim)}) differs from hidden_size / num_attention_heads (${D / H}); ${type} computes it from those two`);
    }
    delete out.head_dim;
  }
  return out;
}

function bool(r: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = get(r, key, fallback);
  if (typeof v !== 'boolean') fail(`"${key}" must be true or false, got ${describeValue(v)}`);
  return v;
}

function positive(r: Record<string, unknown>, key: string, fallback: number, integer = false): number {
  const v = get(r, key, fallback);
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    fail(`"${key}" must be a positive ${integer ? 'integer' : 'number'}, got ${describeValue(v)}`);
  }
  // The same bound as config.ts's sizes: every index into a tensor fits 32 bits.
  if (integer && v > 2 ** 31 - 1) fail(`"${key}" is ${v}, more than ${2 ** 31 - 1}`);
  return v;
}

/** The traits of config.json `r` (a family's own field names), checked against L layers. */
export function readFamilyTraits(r: Record<string, unknown>, type: ModelType, L: number): FamilyTraits {
  const traits: FamilyTraits = {
    model_type: type, name: FIELDS[type].name, router: 'softmax-topk', norm_topk_prob: true, qk_norm: 'none',
    qkv_bias: false, o_bias: false, clip_qkv: null, shared_expert_intermediate_size: null, dense_intermediate_size: null,
    mlp_only_layers: [], decoder_sparse_step: 1, embedding_multiplier: 1, residual_multiplier: 1, logits_scaling: 1,
    attention_scale: null,
  };
  if (type === 'mixtral') return traits;
  const attentionBias = bool(r, 'attention_bias', false);
  traits.qkv_bias = traits.o_bias = attentionBias;
  if (type === 'olmoe' || type === 'qwen2_moe' || type === 'qwen3_moe') traits.norm_topk_prob = bool(r, 'norm_topk_prob', false);
  if (type === 'olmoe') {
    traits.qk_norm = 'projection';
    if (r.clip_qkv !== undefined && r.clip_qkv !== null) traits.clip_qkv = positive(r, 'clip_qkv', 0);
  }
  if (type === 'qwen2_moe' || type === 'qwen3_moe') {
    traits.dense_intermediate_size = positive(r, 'intermediate_size', type === 'qwen2_moe' ? 5632 : 6144, true);
    traits.decoder_sparse_step = positive(r, 'decoder_sparse_step', 1, true);
    const only = get(r, 'mlp_only_layers', []);
    if (!Array.isArray(only) || only.some((l) => !Number.isInteger(l) || l < 0 || l >= L)) {
      fail(`"mlp_only_layers" must list layer indices in 0..${L - 1}, got ${JSON.stringify(only)?.slice(0, 60)}`);
    }
    traits.mlp_only_layers = [...new Set(only as number[])].sort((a, b) => a - b);
  }
  if (type === 'qwen2_moe') {
    // v5's `qkv_bias` (absent from published configs, default true): q, k, v have biases, o_proj never.
    traits.qkv_bias = bool(r, 'qkv_bias', true);
    traits.o_bias = false;
    traits.shared_expert_intermediate_size = positive(r, 'shared_expert_intermediate_size', 5632, true);
  }
  if (type === 'qwen3_moe') traits.qk_norm = 'head';
  if (type === 'granitemoe') {
    traits.router = 'topk-softmax';
    traits.embedding_multiplier = positive(r, 'embedding_multiplier', 1);
    traits.residual_multiplier = positive(r, 'residual_multiplier', 1);
    traits.logits_scaling = positive(r, 'logits_scaling', 1);
    traits.attention_scale = positive(r, 'attention_multiplier', 1);
  }
  return traits;
}

/** The traits of a Mixtral config: no differences. */
export function mixtralTraits(): FamilyTraits {
  return readFamilyTraits({}, 'mixtral', 0);
}

/** Whether layer l routes through experts (a sparse MoE layer) or is a dense MLP. */
export function isMoeLayer(family: Pick<FamilyTraits, 'mlp_only_layers' | 'decoder_sparse_step'> | undefined, l: number): boolean {
  if (!family) return true;
  return !family.mlp_only_layers.includes(l) && (l + 1) % family.decoder_sparse_step === 0;
}

/**
 * How many of the L layers are sparse, by the rule of isMoeLayer, in time independent of L (a
 * config is untrusted until checked against its files, and may claim 10^8 layers).
 */
export function sparseLayerCount(c: { num_hidden_layers: number; family?: FamilyTraits }): number {
  const f = c.family, L = c.num_hidden_layers;
  if (!f) return L;
  // Layers l with (l + 1) % step == 0, less those mlp_only_layers names among them.
  return Math.floor(L / f.decoder_sparse_step) - f.mlp_only_layers.filter((l) => l < L && (l + 1) % f.decoder_sparse_step === 0).length;
}

/** Indices of the sparse (MoE) layers of a model with L layers. */
export function moeLayerIndices(c: { num_hidden_layers: number; family?: FamilyTraits }): number[] {
  const out: number[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) if (isMoeLayer(c.family, l)) out.push(l);
  return out;
}


// The tensors a published MoE checkpoint holds, from its config.json alone, for sizing before a
// download: Mixtral, OLMoE, Qwen1.5-MoE (qwen2_moe), Qwen3-MoE and GraniteMoE, with each
// family's transformers defaults. It mirrors tests/reference/moe_reference.py (spec() and
// tensor_shapes()), whose counts are checked against the published ones (models/configs/README.md).
// The engine's own family table (issue 16) will replace this; until then it is only used to count
// and size, never to load.
// Pure and browser-safe.

/** What a tensor is, which decides how an engine stores it. */
export type TensorRole =
  | 'embedding'  // (V, D): stored in parts of whole rows
  | 'lm_head'    // (V, D): the same
  | 'expert'     // one routed expert's matrix: a layer's experts are stored in parts of whole experts
  | 'matrix'     // attention projections, dense and shared-expert MLPs: one buffer each
  | 'router'     // (E, D), and the shared expert's gate: kept f32
  | 'vector';    // norms and biases: kept f32

/** A kind of tensor and how many of it the checkpoint holds (per layer, per expert). */
export interface TensorGroup {
  /** Hugging Face name, with * for the layer and for the expert. */
  name: string;
  shape: number[];
  role: TensorRole;
  count: number;
}

export interface MoeTensorTable {
  modelType: string;
  /** Routed experts per sparse layer, and how many each token uses. */
  experts: number;
  expertsPerToken: number;
  layers: number;
  groups: TensorGroup[];
}

export const SIZED_MODEL_TYPES = ['mixtral', 'olmoe', 'qwen2_moe', 'qwen3_moe', 'granitemoe'] as const;

type Raw = Record<string, unknown>;

function int(raw: Raw, key: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new Error(`config.json: "${key}" must be a non-negative integer, got ${JSON.stringify(raw[key])}`);
  }
  return v;
}
const flag = (raw: Raw, key: string, fallback: boolean) => (typeof raw[key] === 'boolean' ? raw[key] as boolean : fallback);

/** The tensor table of `raw` (a parsed config.json); throws naming the field for what it cannot size. */
export function moeTensorTable(raw: Raw): MoeTensorTable {
  const type = String(raw.model_type ?? 'mixtral');
  if (!(SIZED_MODEL_TYPES as readonly string[]).includes(type)) {
    throw new Error(`config.json: model_type "${type}" is not one of ${SIZED_MODEL_TYPES.join(', ')}`);
  }
  const D = int(raw, 'hidden_size'), L = int(raw, 'num_hidden_layers'), V = int(raw, 'vocab_size');
  const H = int(raw, 'num_attention_heads'), Hkv = int(raw, 'num_key_value_heads', H);
  const Dh = (type === 'mixtral' || type === 'qwen3_moe') && raw.head_dim != null ? int(raw, 'head_dim') : Math.floor(D / H);
  const tie = flag(raw, 'tie_word_embeddings', false);

  let E: number, K: number, F: number;
  let qkvBias = false, oBias = false, qkNorm: 'whole' | 'head' | null = null;
  let Fshared: number | null = null, Fdense = 0;
  let sparse = Array.from({ length: L }, () => true);
  if (type === 'mixtral') {
    E = int(raw, 'num_local_experts'); K = int(raw, 'num_experts_per_tok', 2); F = int(raw, 'intermediate_size');
  } else if (type === 'olmoe') {
    E = int(raw, 'num_experts', 64); K = int(raw, 'num_experts_per_tok', 8); F = int(raw, 'intermediate_size', 2048);
    qkNorm = 'whole'; qkvBias = oBias = flag(raw, 'attention_bias', false);
  } else if (type === 'granitemoe') {
    E = int(raw, 'num_local_experts', 8); K = int(raw, 'num_experts_per_tok', 2); F = int(raw, 'intermediate_size', 11008);
    qkvBias = oBias = flag(raw, 'attention_bias', false);
  } else {
    const qwen2 = type === 'qwen2_moe';
    E = int(raw, 'num_experts', qwen2 ? 60 : 128); K = int(raw, 'num_experts_per_tok', qwen2 ? 4 : 8);
    F = int(raw, 'moe_intermediate_size', qwen2 ? 1408 : 768);
    Fdense = int(raw, 'intermediate_size', qwen2 ? 5632 : 6144);
    const step = int(raw, 'decoder_sparse_step', 1);
    const denseOnly = new Set(Array.isArray(raw.mlp_only_layers) ? raw.mlp_only_layers as number[] : []);
    sparse = sparse.map((_, l) => !denseOnly.has(l) && E > 0 && (l + 1) % Math.max(1, step) === 0);
    if (qwen2) { qkvBias = flag(raw, 'qkv_bias', true); Fshared = int(raw, 'shared_expert_intermediate_size', 5632); }
    else { qkNorm = 'head'; qkvBias = oBias = flag(raw, 'attention_bias', false); }
  }
  const nSparse = sparse.filter(Boolean).length, nDense = L - nSparse;
  const groups: TensorGroup[] = [];
  const add = (name: string, shape: number[], role: TensorRole, count: number) => { if (count > 0) groups.push({ name, shape, role, count }); };

  add('model.embed_tokens.weight', [V, D], 'embedding', 1);
  add('model.norm.weight', [D], 'vector', 1);
  if (!tie) add('lm_head.weight', [V, D], 'lm_head', 1);
  const p = 'model.layers.*.';
  add(`${p}input_layernorm.weight`, [D], 'vector', L);
  add(`${p}post_attention_layernorm.weight`, [D], 'vector', L);
  add(`${p}self_attn.q_proj.weight`, [H * Dh, D], 'matrix', L);
  add(`${p}self_attn.k_proj.weight`, [Hkv * Dh, D], 'matrix', L);
  add(`${p}self_attn.v_proj.weight`, [Hkv * Dh, D], 'matrix', L);
  add(`${p}self_attn.o_proj.weight`, [D, H * Dh], 'matrix', L);
  if (qkvBias) {
    add(`${p}self_attn.q_proj.bias`, [H * Dh], 'vector', L);
    add(`${p}self_attn.k_proj.bias`, [Hkv * Dh], 'vector', L);
    add(`${p}self_attn.v_proj.bias`, [Hkv * Dh], 'vector', L);
  }
  if (oBias) add(`${p}self_attn.o_proj.bias`, [D], 'vector', L);
  if (qkNorm) {
    add(`${p}self_attn.q_norm.weight`, [qkNorm === 'whole' ? H * Dh : Dh], 'vector', L);
    add(`${p}self_attn.k_norm.weight`, [qkNorm === 'whole' ? Hkv * Dh : Dh], 'vector', L);
  }
  for (const n of ['gate_proj', 'up_proj']) add(`${p}mlp.${n}.weight`, [Fdense, D], 'matrix', nDense);
  add(`${p}mlp.down_proj.weight`, [D, Fdense], 'matrix', nDense);
  if (type === 'mixtral') {
    add(`${p}block_sparse_moe.gate.weight`, [E, D], 'router', nSparse);
    add(`${p}block_sparse_moe.experts.*.w1.weight`, [F, D], 'expert', nSparse * E);
    add(`${p}block_sparse_moe.experts.*.w3.weight`, [F, D], 'expert', nSparse * E);
    add(`${p}block_sparse_moe.experts.*.w2.weight`, [D, F], 'expert', nSparse * E);
  } else if (type === 'granitemoe') {
    // Stored per layer as (E, 2F, D) and (E, D, F): one expert's slice is the unit.
    add(`${p}block_sparse_moe.router.layer.weight`, [E, D], 'router', nSparse);
    add(`${p}block_sparse_moe.input_linear.weight[*]`, [2 * F, D], 'expert', nSparse * E);
    add(`${p}block_sparse_moe.output_linear.weight[*]`, [D, F], 'expert', nSparse * E);
  } else {
    add(`${p}mlp.gate.weight`, [E, D], 'router', nSparse);
    for (const n of ['gate_proj', 'up_proj']) add(`${p}mlp.experts.*.${n}.weight`, [F, D], 'expert', nSparse * E);
    add(`${p}mlp.experts.*.down_proj.weight`, [D, F], 'expert', nSparse * E);
    if (Fshared !== null) {
      for (const n of ['gate_proj', 'up_proj']) add(`${p}mlp.shared_expert.${n}.weight`, [Fshared, D], 'matrix', nSparse);
      add(`${p}mlp.shared_expert.down_proj.weight`, [D, Fshared], 'matrix', nSparse);
      add(`${p}mlp.shared_expert_gate.weight`, [1, D], 'router', nSparse);
    }
  }
  return { modelType: type, experts: E, expertsPerToken: K, layers: L, groups };
}

const elements = (g: TensorGroup) => g.shape.reduce((a, b) => a * b, 1) * g.count;

/**
 * Total and active-per-token parameters, by docs/families.md's rule: everything a token touches
 * is active (embeddings whole, lm_head once when tied), and K of the E routed experts.
 */
export function countTableParameters(t: MoeTensorTable): { total: number; activePerToken: number } {
  let total = 0, routed = 0;
  for (const g of t.groups) {
    total += elements(g);
    if (g.role === 'expert') routed += elements(g);
  }
  return { total, activePerToken: total - routed + (t.experts ? Math.floor(routed / t.experts) * t.expertsPerToken : 0) };
}

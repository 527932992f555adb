// Every tensor of a Mixtral checkpoint, in one table: its Hugging Face name, the field of
// MixtralWeights it fills and its shape in letters that config.json sizes. The loader checks the
// files against it and assembles MixtralWeights from it; the WebGPU engine uploads by it.
//
// The other families' tables (OLMoE, Qwen2-MoE, Qwen3-MoE, Granite-MoE) are built beside it by
// `tensorTable` from the same rows plus what each family adds (family-tensors.ts).
//
// Dimension letters: V vocab, D hidden, F expert width, E experts, H query heads,
// Hkv key/value heads, Dh head_dim; Fs shared expert width, Fd dense MLP width.
import type { MixtralConfig } from '../config.ts';
import { isMoeLayer, sparseLayerCount } from '../family.ts';
import type { ExpertTensor, ExpertWeights, FamilyLayerTensor, LayerTensor, LayerWeights, MixtralWeights, ModelTensor, TensorSpec } from '../weights.ts';
import { familyTensorTable } from './family-tensors.ts';

export type TensorDim = 'V' | 'D' | 'F' | 'E' | 'H*Dh' | 'Hkv*Dh' | 'Dh' | 'Fs' | 'Fd' | '2F' | '1';

/** A row of the table: `{l}` and `{e}` in the name stand for the layer and the expert. */
export type TensorTemplate = {
  name: string;
  dims: readonly TensorDim[];
  /**
   * Kept in float32 by an engine that stores the other weights in halves: the norms, and the
   * router, whose logits decide which experts run.
   */
  f32?: true;
} & ({ scope: 'model'; field: ModelTensor } | { scope: 'layer'; field: LayerTensor } | { scope: 'expert'; field: ExpertTensor });

/**
 * A row of a family's table: as a Mixtral row, with the family's own layer fields, and `when` for
 * rows only sparse (MoE) or only dense layers hold.
 */
export type FamilyTensorTemplate = { name: string; dims: readonly TensorDim[]; f32?: true; when?: 'sparse' | 'dense' }
  & ({ scope: 'model'; field: ModelTensor } | { scope: 'layer'; field: LayerTensor | FamilyLayerTensor } | { scope: 'expert'; field: ExpertTensor });

/** In checkpoint order: embeddings, each layer (attention, router, each expert), final norm, lm_head. */
export const MIXTRAL_TENSORS: readonly TensorTemplate[] = [
  { scope: 'model', field: 'embed_tokens', name: 'model.embed_tokens.weight', dims: ['V', 'D'] },
  { scope: 'layer', field: 'input_layernorm', name: 'model.layers.{l}.input_layernorm.weight', dims: ['D'], f32: true },
  { scope: 'layer', field: 'q_proj', name: 'model.layers.{l}.self_attn.q_proj.weight', dims: ['H*Dh', 'D'] },
  { scope: 'layer', field: 'k_proj', name: 'model.layers.{l}.self_attn.k_proj.weight', dims: ['Hkv*Dh', 'D'] },
  { scope: 'layer', field: 'v_proj', name: 'model.layers.{l}.self_attn.v_proj.weight', dims: ['Hkv*Dh', 'D'] },
  { scope: 'layer', field: 'o_proj', name: 'model.layers.{l}.self_attn.o_proj.weight', dims: ['D', 'H*Dh'] },
  { scope: 'layer', field: 'post_attention_layernorm', name: 'model.layers.{l}.post_attention_layernorm.weight', dims: ['D'], f32: true },
  { scope: 'layer', field: 'gate', name: 'model.layers.{l}.block_sparse_moe.gate.weight', dims: ['E', 'D'], f32: true },
  { scope: 'expert', field: 'w1', name: 'model.layers.{l}.block_sparse_moe.experts.{e}.w1.weight', dims: ['F', 'D'] },
  { scope: 'expert', field: 'w2', name: 'model.layers.{l}.block_sparse_moe.experts.{e}.w2.weight', dims: ['D', 'F'] },
  { scope: 'expert', field: 'w3', name: 'model.layers.{l}.block_sparse_moe.experts.{e}.w3.weight', dims: ['F', 'D'] },
  { scope: 'model', field: 'norm', name: 'model.norm.weight', dims: ['D'], f32: true },
  // Absent when tie_word_embeddings is set: the model then reads embed_tokens.
  { scope: 'model', field: 'lm_head', name: 'lm_head.weight', dims: ['V', 'D'] },
];

/** The row of the table for `field`. */
export function tensorTemplate(field: TensorTemplate['field']): TensorTemplate {
  return MIXTRAL_TENSORS.find((t) => t.field === field)!;
}

/** The table of this config's family: Mixtral's, or one with that family's names and extra rows. */
export function tensorTable(c: MixtralConfig): readonly FamilyTensorTemplate[] {
  return c.model_type === 'mixtral' ? (MIXTRAL_TENSORS as readonly FamilyTensorTemplate[]) : familyTensorTable(c);
}

/** The size of each letter for this config. */
export function tensorShape(c: MixtralConfig, dims: readonly TensorDim[]): number[] {
  const size: Record<TensorDim, number> = {
    V: c.vocab_size, D: c.hidden_size, F: c.intermediate_size, E: c.num_local_experts,
    'H*Dh': c.num_attention_heads * c.head_dim, 'Hkv*Dh': c.num_key_value_heads * c.head_dim, Dh: c.head_dim,
    Fs: c.family.shared_expert_intermediate_size ?? 0, Fd: c.family.dense_intermediate_size ?? 0, '2F': 2 * c.intermediate_size, 1: 1,
  };
  return dims.map((d) => size[d]);
}

/** Whether layer l of `c` holds the row `t` (rows marked sparse or dense live in one kind of layer). */
function inLayer(c: MixtralConfig, t: FamilyTensorTemplate, l: number): boolean {
  return t.when === undefined || (t.when === 'sparse') === isMoeLayer(c.family, l);
}

/** The concrete name of a row of the table, for layer `l` and expert `e`. */
export function tensorName(t: Pick<TensorTemplate, 'name'>, l = 0, e = 0): string {
  return t.name.replace('{l}', String(l)).replace('{e}', String(e));
}

/**
 * Every tensor a checkpoint for `c` must hold, in checkpoint order: embed_tokens, each layer's
 * tensors followed by its experts', then norm and lm_head. With `optional`, also those it may
 * hold but need not (lm_head under tied embeddings). One at a time: a config is untrusted, and
 * its counts are checked against the files before anything proportional to them is built.
 */
export function* eachTensorSpec(c: MixtralConfig, { optional = false } = {}): Generator<TensorSpec, void, void> {
  const model = (field: ModelTensor): TensorSpec => {
    const t = tensorTemplate(field);
    return { name: t.name, shape: tensorShape(c, t.dims), scope: 'model', field };
  };
  const table = tensorTable(c);
  yield model('embed_tokens');
  for (let l = 0; l < c.num_hidden_layers; l++) {
    for (const t of table) {
      if (t.scope === 'layer' && inLayer(c, t, l)) yield { name: tensorName(t, l), shape: tensorShape(c, t.dims), scope: 'layer', field: t.field, layer: l };
    }
    // A dense layer has no experts.
    for (let e = 0; e < (isMoeLayer(c.family, l) ? c.num_local_experts : 0); e++) {
      for (const t of table) {
        if (t.scope === 'expert') yield { name: tensorName(t, l, e), shape: tensorShape(c, t.dims), scope: 'expert', field: t.field, layer: l, expert: e };
      }
    }
  }
  yield model('norm');
  if (!c.tie_word_embeddings || optional) yield model('lm_head');
}

/** The tensors of eachTensorSpec as a list: only for a config already checked against its files. */
export function mixtralTensorSpecs(c: MixtralConfig, options: { optional?: boolean } = {}): TensorSpec[] {
  return [...eachTensorSpec(c, options)];
}

/** How many tensors eachTensorSpec gives, counted without listing them (nor the layers). */
export function tensorCount(c: MixtralConfig, { optional = false } = {}): number {
  const table = tensorTable(c);
  const count = (scope: TensorTemplate['scope'], when?: 'sparse' | 'dense') =>
    table.filter((t) => t.scope === scope && (when === undefined || t.when === undefined || t.when === when)).length;
  const model = count('model') - (c.tie_word_embeddings && !optional ? 1 : 0);
  const sparse = sparseLayerCount(c), dense = c.num_hidden_layers - sparse;
  return model + sparse * (count('layer', 'sparse') + c.num_local_experts * count('expert')) + dense * count('layer', 'dense');
}

/**
 * The row of the table a tensor name stands for, with its layer and expert, when `c` has that
 * layer and expert (and, without `optional`, needs the tensor); else null. In time independent
 * of the config's counts, so the loader can look up each name a header lists.
 */
export function tensorSpecFor(c: MixtralConfig, name: string, { optional = false } = {}): TensorSpec | null {
  for (const t of cachedTable(c)) {
    const m = matchTemplate(t.name, name);
    if (!m) continue;
    const shape = tensorShape(c, t.dims);
    if (t.scope === 'model') {
      if (t.field === 'lm_head' && c.tie_word_embeddings && !optional) return null;
      return { name, shape, scope: 'model', field: t.field };
    }
    if (m.l >= c.num_hidden_layers) return null;
    // A row only sparse (or only dense) layers hold, named in a layer of the other kind.
    if (t.scope === 'layer') return inLayer(c, t, m.l) ? { name, shape, scope: 'layer', field: t.field, layer: m.l } : null;
    if (m.e >= c.num_local_experts || !isMoeLayer(c.family, m.l)) return null;
    return { name, shape, scope: 'expert', field: t.field, layer: m.l, expert: m.e };
  }
  return null;
}

/** A config's table, built once per config object (tensorSpecFor runs once per header entry). */
const TABLES = new WeakMap<MixtralConfig, readonly FamilyTensorTemplate[]>();
function cachedTable(c: MixtralConfig): readonly FamilyTensorTemplate[] {
  let t = TABLES.get(c);
  if (!t) TABLES.set(c, (t = tensorTable(c)));
  return t;
}

/** Each template's name cut at its `{l}` and `{e}`: literal parts and the letters between them. */
const TEMPLATE_PARTS = new Map<string, string[]>();
function templateParts(template: string): string[] {
  let parts = TEMPLATE_PARTS.get(template);
  if (!parts) TEMPLATE_PARTS.set(template, (parts = template.split(/(\{[le]\})/).filter((p) => p !== '')));
  return parts;
}

/** `name` read against a template: the numbers standing for `{l}` and `{e}` (in canonical form), or null. */
function matchTemplate(template: string, name: string): { l: number; e: number } | null {
  const found = { l: 0, e: 0 };
  let at = 0;
  for (const part of templateParts(template)) {
    if (part === '{l}' || part === '{e}') {
      let end = at;
      while (end < name.length && end - at < 10 && name.charCodeAt(end) >= 0x30 && name.charCodeAt(end) <= 0x39) end++;
      // "07" is not layer 7: Hugging Face writes indices without leading zeros.
      if (end === at || end - at > 9 || (end - at > 1 && name.charCodeAt(at) === 0x30)) return null;
      found[part === '{l}' ? 'l' : 'e'] = Number(name.slice(at, end));
      at = end;
    } else {
      if (!name.startsWith(part, at)) return null;
      at += part.length;
    }
  }
  return at === name.length ? found : null;
}

/** The array of `w` that holds the tensor `s`. */
export function tensorOf(w: MixtralWeights, s: TensorSpec): Float32Array {
  if (s.scope === 'model') return w[s.field];
  if (s.scope === 'layer') return w.layers[s.layer][s.field]!;
  return w.layers[s.layer].experts[s.expert][s.field];
}

/**
 * MixtralWeights from the tensors by name, as the table places them. Every required tensor must
 * be there (the loader checks first); lm_head falls back to embed_tokens under tied embeddings.
 * A dense layer gets an empty router and no experts; fused 3-D experts (granitemoe) are cut into
 * per-expert views, without copying.
 */
export function assembleWeights(c: MixtralConfig, tensors: ReadonlyMap<string, Float32Array>): MixtralWeights {
  const layers = Array.from({ length: c.num_hidden_layers }, (_, l) => ({
    experts: Array.from({ length: isMoeLayer(c.family, l) ? c.num_local_experts : 0 }, () => ({})),
    ...(isMoeLayer(c.family, l) ? {} : { gate: new Float32Array(0) }),
  }));
  const model: Partial<Record<ModelTensor, Float32Array>> = {};
  for (const s of mixtralTensorSpecs(c, { optional: true })) {
    const a = tensors.get(s.name);
    if (!a) continue;
    if (s.scope === 'model') model[s.field] = a;
    else if (s.scope === 'layer') (layers[s.layer] as Partial<LayerWeights>)[s.field] = a;
    else (layers[s.layer].experts[s.expert] as Partial<ExpertWeights>)[s.field] = a;
  }
  const missing = mixtralTensorSpecs(c).find((s) => !tensors.has(s.name));
  if (missing) throw new Error(`assembleWeights: tensor ${missing.name} is missing`);
  for (const layer of layers as LayerWeights[]) {
    if (layer.experts_input_linear && layer.experts_output_linear) splitFusedExperts(c, layer);
  }
  return { embed_tokens: model.embed_tokens!, layers: layers as LayerWeights[], norm: model.norm!, lm_head: model.lm_head ?? model.embed_tokens! };
}

/** Per-expert views of fused (E, 2F, D) / (E, D, F) expert tensors: rows 0..F-1 gate (w1), F..2F-1 up (w3). */
function splitFusedExperts(c: MixtralConfig, layer: LayerWeights): void {
  layer.experts = fusedExpertViews(c, layer.experts_input_linear!, layer.experts_output_linear!, (m, b, e) => m.subarray(b, e));
}

/**
 * Expert e's w1, w3 and w2 as views of granitemoe's fused tensors (any matrix type: `slice` cuts
 * elements [begin, end) without copying): per expert F gate rows, then F up rows; then (D, F) down.
 */
export function fusedExpertViews<M>(c: MixtralConfig, gateUp: M, down: M, slice: (m: M, begin: number, end: number) => M): { w1: M; w2: M; w3: M }[] {
  const D = c.hidden_size, F = c.intermediate_size;
  return Array.from({ length: c.num_local_experts }, (_, e) => ({
    w1: slice(gateUp, e * 2 * F * D, (e * 2 + 1) * F * D),
    w3: slice(gateUp, (e * 2 + 1) * F * D, (e + 1) * 2 * F * D),
    w2: slice(down, e * D * F, (e + 1) * D * F),
  }));
}

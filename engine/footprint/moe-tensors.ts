// The tensors a checkpoint holds, grouped for sizing before a download, from its config.json
// alone. There is one reading of a config and one tensor table in Mixscope: the engine's
// (config.ts parseConfig with family.ts, checkpoint/tensor-specs.ts tensorTable, params.ts
// countParameters); this file only groups that table's rows by how an engine stores them.
// Pure and browser-safe.
import { parseConfig, type MixtralConfig } from '../config.ts';
import { MODEL_TYPES, sparseLayerCount } from '../family.ts';
import { tensorShape, tensorTable, type FamilyTensorTemplate } from '../checkpoint/tensor-specs.ts';
import { countParameters } from '../params.ts';

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
  /** The engine's reading of the config the table was built from. */
  config: MixtralConfig;
}

export const SIZED_MODEL_TYPES = MODEL_TYPES;

/** Granite's fused expert tensors (E, 2F, D) and (E, D, F): one expert's slice is the unit. */
const FUSED = new Set(['experts_input_linear', 'experts_output_linear']);

function roleOf(t: FamilyTensorTemplate): TensorRole {
  if (t.field === 'embed_tokens') return 'embedding';
  if (t.field === 'lm_head') return 'lm_head';
  if (t.scope === 'expert' || FUSED.has(t.field)) return 'expert';
  if (t.dims.length === 1) return 'vector';
  // The other rows the engine keeps at full width are the router and the shared expert's gate.
  return t.f32 ? 'router' : 'matrix';
}

/** The groups of a config the engine has read: its tensor table, with how many of each row. */
export function tensorGroups(c: MixtralConfig): TensorGroup[] {
  const L = c.num_hidden_layers, E = c.num_local_experts;
  const sparse = sparseLayerCount(c), dense = L - sparse;
  const groups: TensorGroup[] = [];
  for (const t of tensorTable(c)) {
    if (t.field === 'lm_head' && c.tie_word_embeddings) continue;
    let shape = tensorShape(c, t.dims);
    let name = t.name.replace('{l}', '*').replace('{e}', '*');
    let count = t.scope === 'model' ? 1 : t.scope === 'expert' ? sparse * E : t.when === 'sparse' ? sparse : t.when === 'dense' ? dense : L;
    if (FUSED.has(t.field)) { shape = shape.slice(1); name += '[*]'; count *= E; }
    if (count > 0) groups.push({ name, shape, role: roleOf(t), count });
  }
  return groups;
}

/**
 * The tensor table of `raw` (a parsed config.json), read as the engine reads it; throws naming
 * the field for what it cannot size (the config's CheckpointError).
 */
export function moeTensorTable(raw: Record<string, unknown>): MoeTensorTable {
  const type = raw.model_type ?? 'mixtral';
  if (!(MODEL_TYPES as readonly unknown[]).includes(type)) {
    throw new Error(`config.json: model_type ${JSON.stringify(type)?.slice(0, 60)} is not one of ${MODEL_TYPES.join(', ')}`);
  }
  const c = parseConfig(raw);
  return {
    modelType: c.model_type, experts: c.num_local_experts, expertsPerToken: c.num_experts_per_tok,
    layers: c.num_hidden_layers, groups: tensorGroups(c), config: c,
  };
}

/**
 * Total and active-per-token parameters: the engine's count (params.ts, by docs/families.md's
 * rule: everything a token touches is active, and K of the E routed experts).
 */
export function countTableParameters(t: MoeTensorTable): { total: number; activePerToken: number } {
  const { total, activePerToken } = countParameters(t.config);
  return { total, activePerToken };
}

// Parameter counts from a config: the whole model, and what one token actually uses (only K of
// E routed experts run per token; a shared expert, a dense layer and everything outside the
// experts always run). Sizes come from the tensor table (checkpoint/tensor-specs.ts), so the
// count is of exactly the tensors a checkpoint holds, in every family.
import type { MixtralConfig } from './config.ts';
import { sparseLayerCount } from './family.ts';
import type { FamilyTensorTemplate } from './checkpoint/tensor-specs.ts';
import { tensorShape, tensorTable } from './checkpoint/tensor-specs.ts';

export interface ParameterCounts {
  total: number;
  activePerToken: number;
  embedding: number;
  /** q, k, v, o projections, with their biases and q/k norms where the family has them. */
  attentionPerLayer: number;
  /** Per sparse layer. */
  routerPerLayer: number;
  /** One routed expert (gate, up and down projections). */
  expertEach: number;
  normsPerLayer: number;
  lmHead: number;
  /** The shared expert and its gate, per sparse layer (qwen2_moe; else 0). */
  sharedPerLayer: number;
  /** One dense MLP layer (qwen families with dense layers; else 0). */
  denseMlpEach: number;
  moeLayers: number;
  denseLayers: number;
}

const ATTENTION = new Set(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'q_proj_bias', 'k_proj_bias', 'v_proj_bias', 'o_proj_bias', 'q_norm', 'k_norm']);
const SHARED = new Set(['shared_gate_proj', 'shared_up_proj', 'shared_down_proj', 'shared_expert_gate']);
const DENSE = new Set(['mlp_gate_proj', 'mlp_up_proj', 'mlp_down_proj']);
const FUSED = new Set(['experts_input_linear', 'experts_output_linear']);

export function countParameters(c: MixtralConfig): ParameterCounts {
  const table = tensorTable(c);
  const size = (t: FamilyTensorTemplate) => tensorShape(c, t.dims).reduce((a, b) => a * b, 1);
  const sum = (keep: (t: FamilyTensorTemplate) => boolean) => table.filter(keep).reduce((a, t) => a + size(t), 0);
  const E = c.num_local_experts, K = c.num_experts_per_tok;
  const embedding = sum((t) => t.field === 'embed_tokens');
  const finalNorm = sum((t) => t.field === 'norm');
  const lmHead = c.tie_word_embeddings ? 0 : sum((t) => t.field === 'lm_head');
  const attentionPerLayer = sum((t) => ATTENTION.has(t.field));
  const routerPerLayer = sum((t) => t.field === 'gate');
  const normsPerLayer = sum((t) => t.field === 'input_layernorm' || t.field === 'post_attention_layernorm');
  // Fused experts (granitemoe) hold all E experts in one tensor: one expert is a 1/E share of it.
  const expertEach = sum((t) => t.scope === 'expert') + sum((t) => FUSED.has(t.field)) / E;
  const sharedPerLayer = sum((t) => SHARED.has(t.field));
  const denseMlpEach = sum((t) => DENSE.has(t.field));
  const moeLayers = sparseLayerCount(c);
  const denseLayers = c.num_hidden_layers - moeLayers;
  const outside = embedding + finalNorm + lmHead + c.num_hidden_layers * (attentionPerLayer + normsPerLayer) + denseLayers * denseMlpEach;
  const total = outside + moeLayers * (routerPerLayer + sharedPerLayer + E * expertEach);
  const activePerToken = outside + moeLayers * (routerPerLayer + sharedPerLayer + K * expertEach);
  return {
    total, activePerToken, embedding, attentionPerLayer, routerPerLayer, expertEach, normsPerLayer, lmHead,
    sharedPerLayer, denseMlpEach, moeLayers, denseLayers,
  };
}

// Parameter counts from a config: the whole model, and what one token actually uses (only K of
// E experts run per token). Sizes come from the tensor table (checkpoint/tensor-specs.ts), so
// the count is of exactly the tensors a checkpoint holds.
import type { MixtralConfig } from './config.ts';
import type { TensorTemplate } from './checkpoint/tensor-specs.ts';
import { MIXTRAL_TENSORS, tensorShape } from './checkpoint/tensor-specs.ts';

export interface ParameterCounts {
  total: number;
  activePerToken: number;
  embedding: number;
  attentionPerLayer: number;
  routerPerLayer: number;
  expertEach: number;
  normsPerLayer: number;
  lmHead: number;
}

export function countParameters(c: MixtralConfig): ParameterCounts {
  const size = (t: TensorTemplate) => tensorShape(c, t.dims).reduce((a, b) => a * b, 1);
  const sum = (keep: (t: TensorTemplate) => boolean) => MIXTRAL_TENSORS.filter(keep).reduce((a, t) => a + size(t), 0);
  const embedding = sum((t) => t.field === 'embed_tokens');
  const finalNorm = sum((t) => t.field === 'norm');
  const lmHead = c.tie_word_embeddings ? 0 : sum((t) => t.field === 'lm_head');
  const attentionPerLayer = sum((t) => ['q_proj', 'k_proj', 'v_proj', 'o_proj'].includes(t.field));
  const routerPerLayer = sum((t) => t.field === 'gate');
  const normsPerLayer = sum((t) => t.field === 'input_layernorm' || t.field === 'post_attention_layernorm');
  const expertEach = sum((t) => t.scope === 'expert');
  const shared = attentionPerLayer + routerPerLayer + normsPerLayer;
  const outside = embedding + finalNorm + lmHead;
  const total = outside + c.num_hidden_layers * (shared + c.num_local_experts * expertEach);
  const activePerToken = outside + c.num_hidden_layers * (shared + c.num_experts_per_tok * expertEach);
  return { total, activePerToken, embedding, attentionPerLayer, routerPerLayer, expertEach, normsPerLayer, lmHead };
}

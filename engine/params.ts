// Parameter counts from a config: the whole model, and what one token actually uses
// (only K of E experts run per token).
import type { MixtralConfig } from './config.ts';

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
  const D = c.hidden_size, Dh = c.head_dim;
  const embedding = c.vocab_size * D;
  const attentionPerLayer = D * c.num_attention_heads * Dh * 2 + D * c.num_key_value_heads * Dh * 2;
  const routerPerLayer = c.num_local_experts * D;
  const expertEach = 3 * D * c.intermediate_size;
  const normsPerLayer = 2 * D;
  const lmHead = c.tie_word_embeddings ? 0 : c.vocab_size * D;
  const shared = attentionPerLayer + routerPerLayer + normsPerLayer;
  const total = embedding + lmHead + D + c.num_hidden_layers * (shared + c.num_local_experts * expertEach);
  const activePerToken = embedding + lmHead + D + c.num_hidden_layers * (shared + c.num_experts_per_tok * expertEach);
  return { total, activePerToken, embedding, attentionPerLayer, routerPerLayer, expertEach, normsPerLayer, lmHead };
}

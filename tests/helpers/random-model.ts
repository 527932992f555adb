// A small random Mixtral built in memory, for tests of behaviour that needs no reference numbers.
import { parseConfig, type MixtralConfig } from '../../engine/config.ts';
import type { MixtralWeights } from '../../engine/weights.ts';
import { seededRandom } from '../../engine/sampling.ts';

export function tinyConfig(over: Record<string, unknown> = {}): MixtralConfig {
  return parseConfig({
    model_type: 'mixtral', vocab_size: 48, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, num_local_experts: 4, num_experts_per_tok: 2,
    rms_norm_eps: 1e-5, rope_theta: 10000, sliding_window: 5, max_position_embeddings: 64,
    bos_token_id: 1, eos_token_id: 2, ...over,
  });
}

export function randomWeights(c: MixtralConfig, seed = 1): MixtralWeights {
  const rand = seededRandom(seed);
  const t = (n: number, scale: number) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
  const ones = (n: number) => Float32Array.from({ length: n }, () => 1 + (rand() - 0.5) * 0.2);
  const D = c.hidden_size, F = c.intermediate_size, Dh = c.head_dim;
  const s = (fanIn: number) => 1.7 / Math.sqrt(fanIn);
  return {
    embed_tokens: t(c.vocab_size * D, 1),
    norm: ones(D),
    lm_head: t(c.vocab_size * D, s(D)),
    layers: Array.from({ length: c.num_hidden_layers }, () => ({
      input_layernorm: ones(D),
      post_attention_layernorm: ones(D),
      q_proj: t(c.num_attention_heads * Dh * D, s(D)),
      k_proj: t(c.num_key_value_heads * Dh * D, s(D)),
      v_proj: t(c.num_key_value_heads * Dh * D, s(D)),
      o_proj: t(D * c.num_attention_heads * Dh, s(c.num_attention_heads * Dh)),
      gate: t(c.num_local_experts * D, 3 * s(D)),
      experts: Array.from({ length: c.num_local_experts }, () => ({ w1: t(F * D, s(D)), w3: t(F * D, s(D)), w2: t(D * F, s(F)) })),
    })),
  };
}

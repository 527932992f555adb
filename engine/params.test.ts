import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.ts';
import { countParameters } from './params.ts';

// Mixtral-8x7B's published config (mistralai/Mixtral-8x7B-v0.1 config.json).
const MIXTRAL_8X7B = {
  model_type: 'mixtral', vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32,
  num_attention_heads: 32, num_key_value_heads: 8, num_local_experts: 8, num_experts_per_tok: 2,
  rms_norm_eps: 1e-5, rope_theta: 1e6, sliding_window: null, max_position_embeddings: 32768, tie_word_embeddings: false,
};
const mixtral8x7b = parseConfig(MIXTRAL_8X7B);

describe('parameter counts', () => {
  it('gives Mixtral-8x7B its announced 46.7 B total and 12.9 B active per token', () => {
    const p = countParameters(mixtral8x7b);
    expect(p.total).toBe(46_702_792_704);
    expect(p.activePerToken).toBe(12_879_925_248);
  });
});

describe('the count and the tensor table', () => {
  it('the total is the size of every tensor a checkpoint holds, tied or not', async () => {
    const { mixtralTensorSpecs } = await import('./checkpoint/tensor-specs.ts');
    for (const tie_word_embeddings of [false, true]) {
      const c = parseConfig({ ...MIXTRAL_8X7B, num_hidden_layers: 2, tie_word_embeddings });
      const stored = mixtralTensorSpecs(c).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
      expect(countParameters(c).total).toBe(stored);
    }
  });
});

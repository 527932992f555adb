// The limits the engine asks for and how tensors are split under them (host only, no device).
import { describe, expect, it } from 'vitest';
import { largestTensorBytes, requiredLimitsFor } from './limits.ts';
import { splitRows } from './split.ts';
import { parseConfig } from '../config.ts';

const MIXTRAL = {
  model_type: 'mixtral', vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32,
  num_attention_heads: 32, num_key_value_heads: 8, num_local_experts: 8, num_experts_per_tok: 2,
  rms_norm_eps: 1e-5, rope_theta: 1e6, max_position_embeddings: 32768,
};
const mixtral = parseConfig(MIXTRAL);
const adapter = (binding: number, buffer: number) => ({ limits: { maxStorageBufferBindingSize: binding, maxBufferSize: buffer } }) as unknown as GPUAdapter;

describe('device limits for a model', () => {
  it('asks for what the largest tensor needs, never more than the adapter offers', () => {
    expect(largestTensorBytes(mixtral, 'f16')).toBe(8 * 14336 * 4096 * 2);
    expect(requiredLimitsFor(adapter(2 ** 31, 2 ** 32), mixtral, 'f16')).toEqual({ maxStorageBufferBindingSize: 8 * 14336 * 4096 * 2, maxBufferSize: 8 * 14336 * 4096 * 2 });
    expect(requiredLimitsFor(adapter(2 ** 29, 2 ** 29), mixtral, 'f16')).toEqual({ maxStorageBufferBindingSize: 2 ** 29, maxBufferSize: 2 ** 29 });
    const tiny = parseConfig({ ...MIXTRAL, vocab_size: 96, hidden_size: 32, intermediate_size: 48, num_attention_heads: 4, num_key_value_heads: 4, head_dim: 8 });
    expect(requiredLimitsFor(adapter(2 ** 31, 2 ** 32), tiny, 'f32')).toEqual({ maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 });
  });

  it('splits a real Mixtral embedding into parts of whole rows under a 128 MiB binding', () => {
    const parts = splitRows('embed_tokens', 32000, 4096 * 2, 128 * 2 ** 20);
    expect(parts.length).toBe(2);
    expect(parts.reduce((n, p) => n + p.rows, 0)).toBe(32000);
    for (const p of parts) expect(p.rows * 4096 * 2).toBeLessThanOrEqual(128 * 2 ** 20);
    expect(() => splitRows('lm_head', 10, 100, 99)).toThrow(/lm_head: one row is 100 bytes but this device binds at most 99 bytes/);
  });
});

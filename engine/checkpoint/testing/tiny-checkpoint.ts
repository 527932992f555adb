// A tiny, complete Mixtral checkpoint as tensors, to build good and broken files from.
import { parseConfig } from '../../config.ts';
import { mixtralTensorSpecs } from '../tensor-specs.ts';
import type { DType } from '../dtype.ts';
import { encode, type TensorIn } from './write-safetensors.ts';

export const TINY_CONFIG = {
  model_type: 'mixtral', vocab_size: 16, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 2,
  num_attention_heads: 2, num_key_value_heads: 1, num_local_experts: 2, num_experts_per_tok: 1,
  rms_norm_eps: 1e-5, rope_theta: 10000, max_position_embeddings: 32,
};

/** Tensor values are a deterministic function of name and index, so tests can check them. */
export function valueOf(name: string, i: number): number {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) | 0;
  return ((((h + i * 7919) % 64) + 64) % 64) / 32 - 1; // multiples of 1/32 in [-1, 1): exact in F16 and BF16
}

export function tinyTensors(dtype: DType = 'F32', config: Record<string, unknown> = TINY_CONFIG): Record<string, TensorIn> {
  const out: Record<string, TensorIn> = {};
  for (const s of mixtralTensorSpecs(parseConfig(config))) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    out[s.name] = { dtype, shape: s.shape, data: encode(Array.from({ length: n }, (_, i) => valueOf(s.name, i)), dtype) };
  }
  return out;
}

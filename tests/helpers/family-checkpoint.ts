// Small random checkpoints of each family, built from its published config.json (models/configs/)
// with the sizes shrunk and every family field kept, written with the exact Hub tensor names the
// family's table gives (a real checkpoint's names: docs/families.md). For the CLI and site tests.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../../engine/config.ts';
import { mixtralTensorSpecs } from '../../engine/checkpoint/tensor-specs.ts';
import { encode, safetensorsBytes, type TensorIn } from '../../engine/checkpoint/testing/write-safetensors.ts';
import type { DType } from '../../engine/checkpoint/dtype.ts';
import { seededRandom } from '../../engine/sampling.ts';
import { llamaStyleTokenizerJson } from './llama-style-tokenizer.ts';

export const PUBLISHED_CONFIGS = {
  mixtral: 'mixtral-8x7b-v0.1.json',
  olmoe: 'olmoe-1b-7b-0924.json',
  qwen2_moe: 'qwen1.5-moe-a2.7b-chat.json',
  qwen3_moe: 'qwen3-30b-a3b.json',
  granitemoe: 'granite-3.1-1b-a400m.json',
} as const;
export type FamilyName = keyof typeof PUBLISHED_CONFIGS;

export function publishedConfig(family: FamilyName): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../../models/configs/${PUBLISHED_CONFIGS[family]}`, import.meta.url), 'utf8'));
}

/**
 * The published config of `family` at toy size: E and K as published (64/8, 60/4, 128/8, 32/8),
 * everything else small; the vocabulary is the Llama-style test tokenizer's (277).
 */
export function tinyFamilyConfig(family: FamilyName, over: Record<string, unknown> = {}): Record<string, unknown> {
  const c: Record<string, unknown> = {
    ...publishedConfig(family),
    vocab_size: 277, hidden_size: 16, num_attention_heads: 4, num_key_value_heads: 2, num_hidden_layers: 2,
    intermediate_size: 24, max_position_embeddings: 64, bos_token_id: 1, eos_token_id: 2,
  };
  if (family === 'mixtral') c.num_experts_per_tok = 2;
  if (family === 'qwen2_moe') Object.assign(c, { moe_intermediate_size: 8, shared_expert_intermediate_size: 16 });
  if (family === 'qwen3_moe') Object.assign(c, { moe_intermediate_size: 4, head_dim: 8 }); // H·Dh = 32 ≠ D, as in Qwen3-30B-A3B
  if (family === 'olmoe' || family === 'granitemoe') c.intermediate_size = 4;
  delete c.pad_token_id;
  return { ...c, ...over };
}

/** Random tensors for a config (any family), by the family's table: norms near 1, the rest ±1/√fan-in. */
export function randomFamilyTensors(config: Record<string, unknown>, dtype: DType = 'F32', seed = 1): Record<string, TensorIn> {
  const rand = seededRandom(seed);
  const out: Record<string, TensorIn> = {};
  for (const s of mixtralTensorSpecs(parseConfig(config))) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const norm = s.shape.length === 1 && !s.name.endsWith('.bias');
    const scale = s.name.includes('embed_tokens') ? 1 : s.name.endsWith('.gate.weight') || s.name.endsWith('router.layer.weight') ? 3 / Math.sqrt(s.shape.at(-1)!) : 1.7 / Math.sqrt(s.shape.at(-1)!);
    const values = Array.from({ length: n }, () => (norm ? 1 + (rand() - 0.5) * 0.2 : (rand() * 2 - 1) * (s.name.endsWith('.bias') ? 0.1 : scale)));
    out[s.name] = { dtype, shape: s.shape, data: encode(values, dtype) };
  }
  return out;
}

/** Write config.json, model.safetensors and tokenizer.json of a random checkpoint into `dir`. */
export function writeFamilyCheckpoint(dir: string, config: Record<string, unknown>, dtype: DType = 'F32'): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(randomFamilyTensors(config, dtype)));
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(llamaStyleTokenizerJson()));
  return dir;
}

// Loading a checkpoint for the CPU engine at the width it is stored: tensors arrive one at a
// time (./tensor-reader.ts) and 16-bit matrices are kept as they are (cpu/stored-weights.ts), so
// memory is about the file's size; norms and the router's gate are decoded to float32.
// Browser-, worker- and Node-safe.
import { parseConfig, type MixtralConfig } from '../config.ts';
import { CheckpointError } from '../errors.ts';
import type { CpuWeights, WeightMatrix } from '../cpu/stored-weights.ts';
import { matrixBytesHeld } from '../cpu/stored-weights.ts';
import type { TensorSpec } from '../weights.ts';
import { decodeInto, DTYPE_BYTES } from './dtype.ts';
import { CONFIG_FILE, TOKENIZER_FILE, type LoadOptions } from './load.ts';
import type { CheckpointSource } from './source.ts';
import { mixtralTensorSpecs } from './tensor-specs.ts';
import { readTensors, type StoredTensor } from './tensor-reader.ts';

export interface StoredCheckpoint {
  label: string;
  config: MixtralConfig;
  weights: CpuWeights;
  tokenizerJson: unknown | null;
  /** Bytes stored per dtype over the tensors the model uses. */
  dtypeBytes: Record<string, number>;
  /** Bytes the weights hold in memory. */
  heldBytes: number;
}

const toFloat32 = (t: StoredTensor): Float32Array => {
  const out = new Float32Array(t.bytes.length / DTYPE_BYTES[t.dtype]);
  decodeInto(t.bytes, t.dtype, out, 0);
  return out;
};

/** A matrix kept at stored width; F32 as float32 (the bytes are fresh and aligned: a view, no copy). */
const keep = (t: StoredTensor): WeightMatrix => {
  if (t.dtype === 'F32') return new Float32Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.length / 4);
  return { dtype: t.dtype, words: new Uint16Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.length / 2) };
};

export async function loadStoredCheckpoint(source: CheckpointSource, options: LoadOptions = {}): Promise<StoredCheckpoint> {
  if (!(await source.has(CONFIG_FILE))) throw new CheckpointError('missing-file', CONFIG_FILE, `no ${CONFIG_FILE} in ${source.label}`);
  const config = parseConfig(await source.text(CONFIG_FILE));
  let tokenizerJson: unknown | null = null;
  if (await source.has(TOKENIZER_FILE)) {
    try { tokenizerJson = JSON.parse(await source.text(TOKENIZER_FILE)); } catch (e) {
      throw new CheckpointError('bad-tokenizer', TOKENIZER_FILE, `not valid JSON (${(e as Error).message})`);
    }
  }
  const specs = new Map<string, TensorSpec>(mixtralTensorSpecs(config, { optional: true }).map((s) => [s.name, s]));
  const layers = Array.from({ length: config.num_hidden_layers }, () => ({ experts: Array.from({ length: config.num_local_experts }, () => ({})) })) as unknown as CpuWeights['layers'];
  const model: Partial<CpuWeights> = {};
  const dtypeBytes: Record<string, number> = {};
  const found = new Set<string>();
  for await (const t of readTensors(source, { ...options, wanted: (n) => specs.has(n) })) {
    const s = specs.get(t.name)!;
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new CheckpointError('shape-mismatch', t.file, `shape does not match config.json: expected [${s.shape}], got [${t.shape}]`, t.name);
    }
    found.add(t.name);
    dtypeBytes[t.dtype] = (dtypeBytes[t.dtype] ?? 0) + t.bytes.length;
    // Vectors and the router at full width; every other matrix as stored.
    const full = s.shape.length === 1 || s.field === 'gate';
    const value = full ? toFloat32(t) : keep(t);
    if (s.scope === 'model') (model as Record<string, unknown>)[s.field] = value;
    else if (s.scope === 'layer') (layers[s.layer] as unknown as Record<string, unknown>)[s.field] = value;
    else (layers[s.layer].experts[s.expert] as Record<string, unknown>)[s.field] = value;
  }
  const missing = mixtralTensorSpecs(config).find((s) => !found.has(s.name));
  if (missing) throw new CheckpointError('missing-tensor', source.label, 'tensor is in none of the weight files', missing.name);
  const weights: CpuWeights = { embed_tokens: model.embed_tokens!, layers, norm: model.norm as Float32Array, lm_head: model.lm_head ?? model.embed_tokens! };
  let heldBytes = matrixBytesHeld(weights.embed_tokens) + weights.norm.byteLength + (weights.lm_head === weights.embed_tokens ? 0 : matrixBytesHeld(weights.lm_head));
  for (const l of layers) {
    heldBytes += l.input_layernorm.byteLength + l.post_attention_layernorm.byteLength + l.gate.byteLength;
    for (const m of [l.q_proj, l.k_proj, l.v_proj, l.o_proj, ...l.experts.flatMap((e) => [e.w1, e.w2, e.w3])]) heldBytes += matrixBytesHeld(m);
  }
  return { label: source.label, config, weights, tokenizerJson, dtypeBytes, heldBytes };
}

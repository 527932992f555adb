// A loaded model: the checkpoint plus its tokenizer and parameter counts, ready to hand to an engine.
import { loadCheckpoint, type CheckpointSource, type LoadedCheckpoint, type LoadOptions } from './checkpoint/index.ts';
import { loadStoredCheckpoint, type StoredLoadOptions } from './checkpoint/load-stored.ts';
import type { CpuWeights } from './cpu/stored-weights.ts';
import type { WeightFormat } from './footprint/formats.ts';
import type { MixtralWeights } from './weights.ts';
import { MixscopeTokenizer } from './tokenizer.ts';
import { countParameters, type ParameterCounts } from './params.ts';

export interface Model extends LoadedCheckpoint {
  /** Null when the checkpoint has no tokenizer.json: token ids still work. */
  tokenizer: MixscopeTokenizer | null;
  parameters: ParameterCounts;
}

/**
 * A model for the CPU engine, its matrices at the width they are stored (F16/BF16 kept as
 * 16-bit words, decoded row by row as the engine computes) or in a chosen format.
 */
export interface StoredModel extends Omit<Model, 'weights'> {
  weights: CpuWeights;
  /** Bytes the weights hold in memory. */
  heldBytes: number;
  /** The format the matrices were converted to, or null: as stored. */
  format: WeightFormat | null;
}

export async function loadModel(source: CheckpointSource, options: LoadOptions = {}): Promise<Model> {
  const ckpt = await loadCheckpoint(source, options);
  return {
    ...ckpt,
    tokenizer: ckpt.tokenizerJson ? new MixscopeTokenizer(ckpt.tokenizerJson) : null,
    parameters: countParameters(ckpt.config),
  };
}

/**
 * Like loadModel, for the CPU engine: at stored width, or with `options.format` each matrix
 * converted as it arrives (checkpoint/load-stored.ts).
 */
export async function loadStoredModel(source: CheckpointSource, options: StoredLoadOptions = {}): Promise<StoredModel> {
  const { heldBytes, ...ckpt } = await loadStoredCheckpoint(source, options);
  return {
    ...ckpt,
    tokenizer: ckpt.tokenizerJson ? new MixscopeTokenizer(ckpt.tokenizerJson) : null,
    parameters: countParameters(ckpt.config),
    heldBytes,
    format: options.format ?? null,
  };
}

/** Whether `model` holds float32 weights (what the WebGPU engine and the float32 tools take). */
export function isFloat32Model(model: Model | StoredModel): model is Model {
  return !('heldBytes' in model);
}

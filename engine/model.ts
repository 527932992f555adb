// A loaded model: the checkpoint plus its tokenizer and parameter counts, ready to hand to an engine.
import { loadCheckpoint, type CheckpointSource, type LoadedCheckpoint, type LoadOptions } from './checkpoint/index.ts';
import { loadStoredCheckpoint } from './checkpoint/load-stored.ts';
import { weightsBytesHeld, type CpuWeights } from './cpu/stored-weights.ts';
import type { WeightFormat } from './footprint/formats.ts';
import { convertWeights } from './quant/quantize-weights.ts';
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
 * 16-bit words, decoded row by row as the engine computes) or in a chosen format (withFormat).
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

/** Like loadModel, at stored width (checkpoint/load-stored.ts), for the CPU engine. */
export async function loadStoredModel(source: CheckpointSource, options: LoadOptions = {}): Promise<StoredModel> {
  const { heldBytes, ...ckpt } = await loadStoredCheckpoint(source, options);
  return {
    ...ckpt,
    tokenizer: ckpt.tokenizerJson ? new MixscopeTokenizer(ckpt.tokenizerJson) : null,
    parameters: countParameters(ckpt.config),
    heldBytes,
    format: null,
  };
}

/**
 * `model` with its matrices in `format` (quant/quantize-weights.ts): the routers and norms stay
 * float32; a matrix already in the format is kept, not copied.
 */
export function withFormat(model: StoredModel, format: WeightFormat): StoredModel {
  const weights = convertWeights(model.weights, model.config, format);
  return { ...model, weights, heldBytes: weightsBytesHeld(weights), format };
}

/** Whether `model` holds float32 weights (what the WebGPU engine and the float32 tools take). */
export function isFloat32Model(model: Model | StoredModel): model is Model {
  return !('heldBytes' in model);
}

/** The float32 weights of a model loaded with loadModel; a stored-width model is refused by name. */
export function float32Weights(model: Model | StoredModel): MixtralWeights {
  if (!isFloat32Model(model)) throw new Error(`${model.label} was loaded at stored width for the CPU engine; this needs it loaded as float32 (loadModel)`);
  return model.weights;
}

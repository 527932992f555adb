// Loading a Hugging Face Mixtral checkpoint as float32: config.json, then each safetensors file
// streamed once, front to back (tensor-reader.ts), each tensor the model needs converted as it arrives.
// Browser-, worker- and Node-safe: all I/O goes through a CheckpointSource.
//
// Everything read is untrusted, so work stays bounded by what the files hold, never by what
// they claim: JSON files are size- and depth-checked before parsing (json-limits.ts), headers
// are parsed as they stream (safetensors-header.ts), the config's sizes are checked against the
// weight files' sizes before any weight is read, each header's tensors are looked up by name
// rather than by listing every tensor the config describes, memory is counted before it is
// asked for, and every weight is checked to be a finite number as it arrives. The checks live in
// checkpoint-files.ts and tensor-reader.ts, shared with the stored-width loader (load-stored.ts).
import type { MixtralConfig } from '../config.ts';
import { CheckpointError } from '../errors.ts';
import { countParameters } from '../params.ts';
import type { MixtralWeights } from '../weights.ts';
import { decodeInto } from './dtype.ts';
import { bytes, checkAllPresent, readModelFiles, CONFIG_FILE, TOKENIZER_FILE } from './checkpoint-files.ts';
import type { CheckpointSource } from './source.ts';
import { readTensors, type LoadProgress, type StoredTensor, type TensorReadReport, type UnusedTensor } from './tensor-reader.ts';
import { assembleWeights } from './tensor-specs.ts';

export { CONFIG_FILE, TOKENIZER_FILE, INDEX_FILE, SINGLE_FILE, planWeightFiles, bytes, type WeightPlan } from './checkpoint-files.ts';
export { firstNonFinite } from './finite.ts';
export type { LoadProgress, UnusedTensor } from './tensor-reader.ts';

export interface LoadOptions {
  /** Called per chunk received, and once at the end with bytesDone === bytesTotal. */
  onProgress?: (p: LoadProgress) => void;
  /** Aborts reading (fetches, streams, parsing) at once: the load rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * The most bytes of weights to hold, as float32 (the engine's layout). Checked tensor by tensor
   * before each is allocated, so a checkpoint too large fails naming the tensor that would cross
   * it, not with the platform's "allocation failed". Default: no limit of the loader's own (an
   * allocation the platform refuses is still reported with the tensor's name).
   */
  maxWeightBytes?: number;
}

export interface LoadedCheckpoint {
  label: string;
  config: MixtralConfig;
  weights: MixtralWeights;
  /** Parsed tokenizer.json, or null when the checkpoint has none. */
  tokenizerJson: unknown | null;
  /** The files read: config.json, the weight files in reading order, tokenizer.json if present. */
  files: string[];
  /** Bytes stored per dtype over the tensors the model uses. */
  dtypeBytes: Record<string, number>;
  /** Tensors skipped because the model does not use them (any dtype, including unknown ones): the first 1000. */
  unusedTensors: UnusedTensor[];
  /** How many tensors were skipped in all. */
  unusedCount: number;
}

/** A tensor's float32 values: F32 bytes viewed (fresh and aligned: no copy), F16/BF16 decoded. */
function toFloat32(t: StoredTensor): Float32Array {
  if (t.dtype === 'F32') return new Float32Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.length / 4);
  const count = t.bytes.length / 2;
  let out: Float32Array;
  try {
    out = new Float32Array(count);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new CheckpointError('too-large', t.file, `${bytes(4 * count)} as float32 (shape [${t.shape}]): this engine could not allocate it (${e.message.slice(0, 60)})`, t.name);
  }
  decodeInto(t.bytes, t.dtype, out, 0);
  return out;
}

/**
 * Memory is counted before it is asked for: a check that refuses the tensor that would bring the
 * weights held (as float32, `heldBytes` of them so far) over `maxWeightBytes`, naming it.
 */
export function float32Budget(config: MixtralConfig, maxWeightBytes: number): (t: { name: string; shape: number[] }, file: string) => void {
  let heldBytes = 0;
  return (t, file) => {
    const f32 = 4 * t.shape.reduce((a, d) => a * d, 1);
    if (heldBytes + f32 > maxWeightBytes) {
      const params = countParameters(config).total;
      throw new CheckpointError('too-large', file,
        `${bytes(f32)} as float32 (shape [${t.shape}]) would bring the weights held to ${bytes(heldBytes + f32)}, over the ${bytes(maxWeightBytes)} this engine holds (the model has ${params.toPrecision(3)} parameters: ${bytes(4 * params)} as float32)`, t.name);
    }
    heldBytes += f32;
  };
}

/**
 * Load a Mixtral checkpoint from `source`: config.json, the safetensors weights (single file or
 * sharded through model.safetensors.index.json) and tokenizer.json when present.
 * Each weight file is streamed once, front to back. Throws CheckpointError for bad input, and
 * the signal's reason when aborted.
 */
export async function loadCheckpoint(source: CheckpointSource, options: LoadOptions = {}): Promise<LoadedCheckpoint> {
  const { signal, onProgress } = options;
  const { config, tokenizerJson } = await readModelFiles(source, signal);
  const tensors = new Map<string, Float32Array>();
  const report: Partial<TensorReadReport> = {};
  const admit = options.maxWeightBytes === undefined ? undefined : float32Budget(config, options.maxWeightBytes);
  for await (const t of readTensors(source, { config, admit, onProgress, signal, report })) tensors.set(t.name, toFloat32(t));
  const { plan, dtypeBytes, unusedTensors, unusedCount } = report as TensorReadReport;
  checkAllPresent(config, plan, (name) => tensors.has(name), tensors.size);
  return {
    label: source.label,
    config,
    weights: assembleWeights(config, tensors),
    tokenizerJson,
    files: [CONFIG_FILE, ...plan.files, ...(tokenizerJson !== null ? [TOKENIZER_FILE] : [])],
    dtypeBytes,
    unusedTensors,
    unusedCount,
  };
}

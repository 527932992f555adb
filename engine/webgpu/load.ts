// A checkpoint streamed to the GPU: config.json first (the device is asked for the limits the
// model needs), then every tensor from readTensors straight into its GPU buffer, converted to
// the engine's format on the way (upload.ts). Nothing holds the model in CPU memory: peak memory
// is the largest tensor plus a chunk. Browser-, worker- and Node-safe (the caller brings the device).
import type { MixtralConfig } from '../config.ts';
import type { WeightFormat } from '../footprint/formats.ts';
import { readModelFiles } from '../checkpoint/checkpoint-files.ts';
import { readTensors, type LoadProgress, type StoredTensor, type TensorReadReport } from '../checkpoint/tensor-reader.ts';
import type { CheckpointSource } from '../checkpoint/source.ts';
import { WebGpuEngine, type WebGpuEngineOptions } from './engine.ts';

export interface StreamedLoadOptions extends WebGpuEngineOptions {
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
  /** Sees each tensor once it is uploaded, before it is released (the site keeps the lens's norm and lm_head). */
  onTensor?: (t: StoredTensor) => void;
  /** config.json and tokenizer.json when the caller has read them already (readModelFiles), so they are not read twice. */
  files?: { config: MixtralConfig; tokenizerJson: unknown | null };
}

export interface StreamedModel {
  label: string;
  config: MixtralConfig;
  tokenizerJson: unknown | null;
  engine: WebGpuEngine;
  /** Bytes stored per dtype over the tensors the model uses (as loadCheckpoint reports them). */
  dtypeBytes: Record<string, number>;
}

/**
 * The format a streamed load keeps the big matrices in when none is asked for, from the stored
 * dtype of the first tensor (the embeddings): packed halves for F16 (exact), f32 for BF16 and F32
 * (they do not fit halves exactly). engine/footprint/device-plan.ts: defaultWeightFormat picks a
 * format per device instead.
 */
export function streamedFormat(firstDtype: StoredTensor['dtype'] | undefined): WeightFormat {
  return firstDtype === undefined || firstDtype === 'F16' ? 'f16' : 'f32';
}

/**
 * Load `source` on a WebGPU device: `device(config, format)` is asked once config.json and the
 * first tensor are read (limits.ts: requestEngineDevice sizes it), then the weights stream to it.
 */
export async function loadWebGpuModel(
  source: CheckpointSource,
  device: (config: MixtralConfig, format: WeightFormat) => Promise<{ device: GPUDevice; description: string }>,
  options: StreamedLoadOptions = {},
): Promise<StreamedModel> {
  const { signal, onProgress, onTensor, files, ...engineOptions } = options;
  const { config, tokenizerJson } = files ?? await readModelFiles(source, signal);
  const report: Partial<TensorReadReport> = {};
  const stream = readTensors(source, { config, onProgress, signal, report });
  // The first tensor decides the format when none is asked for; it is uploaded with the rest.
  const first = await stream.next();
  const format = options.weights ?? streamedFormat(first.done ? undefined : first.value.dtype);
  const gpu = await device(config, format).catch(async (e: unknown) => { await stream.return(); throw e; });
  async function* tensors(): AsyncGenerator<StoredTensor> {
    if (!first.done) yield first.value;
    yield* stream;
  }
  const engine = await WebGpuEngine.load(gpu.device, config, tensors(), { ...engineOptions, weights: format, plan: () => report.plan, onTensor }, gpu.description);
  return { label: source.label, config, tokenizerJson, engine, dtypeBytes: { ...report.dtypeBytes } };
}

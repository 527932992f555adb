// Opens a checkpoint and the best engine for it: WebGPU where the browser gives an adapter,
// the CPU reference engine otherwise, with a one-line reason the page shows in its header.
// On WebGPU the weights stream from the source to the GPU one tensor at a time (engine/webgpu/
// load.ts): the tab never assembles them, and keeps only the final norm and lm_head for the
// logit lens; if the device is lost, the CPU engine reads the weights again from the source.
// A load can be cancelled (its signal aborts the fetches and the parsing). The CPU engine holds at
// most WORKER_MAX_WEIGHT_BYTES of weights: a larger checkpoint fails naming the tensor, before the
// tab runs out of memory. A load in a chosen weight format (f32, f16, q8, q4) for the CPU engine
// keeps the matrices in that format from the start (checkpoint/load-stored.ts); the WebGPU engine
// converts each matrix to it as the stream uploads it and reads it with its dequantizing kernels.
import type { Engine } from '../../engine/engine.ts';
import { isFloat32Model, loadModel, loadStoredModel, type Model, type StoredModel } from '../../engine/model.ts';
import { convertWeights } from '../../engine/quant/quantize-weights.ts';
import { weightsBytesHeld, type CpuWeights, type WeightMatrix } from '../../engine/cpu/stored-weights.ts';
import { WORKER_MAX_WEIGHT_BYTES } from './load-plan.ts';
import type { MixtralConfig } from '../../engine/config.ts';
import { MixscopeTokenizer } from '../../engine/tokenizer.ts';
import { countParameters } from '../../engine/params.ts';
import { readModelFiles } from '../../engine/checkpoint/checkpoint-files.ts';
import { lensHeadKeeper } from '../../engine/lens/head-keeper.ts';
import { CheckpointError } from '../../engine/errors.ts';
import type { WeightFormat } from '../../engine/footprint/formats.ts';
import { urlSource, filesSource, type CheckpointSource } from '../../engine/checkpoint/index.ts';
import { hubSource } from '../../engine/hub/source.ts';
import { cachedHubSource, type CachedHubSource } from '../../engine/hub/browser-cache.ts';
import type { LoadProgress } from '../../engine/checkpoint/load.ts';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { hookNames } from '../../engine/hooks/names.ts';
import { requestEngineDevice } from '../../engine/webgpu/limits.ts';
import { weightStorageFor } from '../../engine/checkpoint/dtype.ts';
import { meterBuffers, type BufferMeter } from '../../engine/webgpu/buffer-meter.ts';
import { DeviceLostError } from '../../engine/webgpu/gpu.ts';
import type { ModelSource } from './protocol.ts';
import type { ModelInfo } from './types.ts';

export interface OpenedEngine {
  engine: Engine;
  /** Why the CPU engine is used (null on WebGPU). */
  reason: string | null;
  /** The faster engine here ('fastest'), a slower one the address asked for ('slower'), the CPU asked for ('asked'), or the only one ('only'). */
  choice?: BackendChoice;
  /** Live GPU buffers of the engine's device (null on the CPU), for the worker's `stats`. */
  meter: BufferMeter | null;
  /** Settles when the engine's GPU device is lost, whenever that is (absent on the CPU). */
  lost?: Promise<DeviceLostError>;
  /** The format the engine keeps the weights in (null: its own layout) and their bytes (null: not measured here). */
  weights: { format: WeightFormat | null; bytes: number | null };
}

export { WORKER_MAX_WEIGHT_BYTES };

/** A model the worker holds: float32 weights (either engine), or in a format for the CPU engine. */
export type HostModel = Model | StoredModel;

/**
 * The checkpoint source a ModelSource names: a Hub model through this browser's cache where it
 * has one. `signal` aborts its requests (a cancelled load stops fetching at once).
 */
export function checkpointSource(source: ModelSource, signal?: AbortSignal): CheckpointSource {
  if (source.kind === 'url') return urlSource(source.base, (...a) => fetch(...a), signal);
  if (source.kind === 'files') return filesSource(source.files);
  const options = { endpoint: source.endpoint, token: source.token, signal };
  return typeof caches === 'undefined' ? hubSource(source.model, options) : cachedHubSource(source.model, options);
}

/** `cpuFormat`: load for the CPU engine with the matrices in this format; else float32. */
export async function openModel(source: ModelSource, onProgress: (p: LoadProgress) => void, signal?: AbortSignal, cpuFormat?: WeightFormat): Promise<HostModel> {
  const src = checkpointSource(source, signal);
  const options = { onProgress, signal, maxWeightBytes: WORKER_MAX_WEIGHT_BYTES };
  const model: HostModel = cpuFormat ? await loadStoredModel(src, { ...options, format: cpuFormat }) : await loadModel(src, options);
  // Files still on their way into the cache finish before the model is reported open.
  if ('settled' in src) await (src as CachedHubSource).settled();
  signal?.throwIfAborted();
  // A Hub model is named as people write it ("org/name@revision"), not by its endpoint.
  return source.kind === 'hub' ? { ...model, label: source.model } : model;
}

/**
 * The CPU reference engine for `model`, with the reason it is used; with `format`, its weights
 * converted to that format first (unless they are in it already).
 */
export function cpuEngine(model: { config: MixtralConfig; weights: CpuWeights; format?: WeightFormat | null }, reason: string, format?: WeightFormat): OpenedEngine {
  const convert = format !== undefined && format !== (model.format ?? null);
  const weights = convert ? convertWeights(model.weights, model.config, format) : model.weights;
  return { engine: new CpuEngine(model.config, weights), reason, meter: null, weights: { format: format ?? model.format ?? null, bytes: weightsBytesHeld(weights) } };
}

/** A model as the worker holds it: on WebGPU without its weights in the tab. */
export interface SiteModel extends Omit<Model, 'weights'> {
  /** The CPU engine's weights (float32, stored width or a chosen format); null when they live on the GPU only. */
  weights: CpuWeights | null;
  /** The format of `weights` (null: float32 or as stored). */
  format?: WeightFormat | null;
  /** The final norm and lm_head, for the logit lens on either engine. */
  head: { norm: Float32Array; lm_head: WeightMatrix };
  /** Where the model came from: after a lost device, the CPU engine reads its weights from here. */
  source: ModelSource;
}

/**
 * Open `source` on the best engine (see gpuFor): on WebGPU, streamed to the GPU; on the CPU,
 * loaded in `format` (stored width or quantized: checkpoint/load-stored.ts), or in float32 without
 * one. `format` is also how the GPU keeps the big matrices (default: f16 for an F16 checkpoint,
 * else f32). A checkpoint error or a cancel fails the open; a WebGPU failure falls
 * back to the CPU engine with the reason.
 */
export async function openModelAndEngine(source: ModelSource, backend: 'auto' | 'cpu' | 'webgpu', onProgress: (p: LoadProgress) => void, signal?: AbortSignal, format?: WeightFormat): Promise<{ model: SiteModel; opened: OpenedEngine }> {
  const src = checkpointSource(source, signal);
  const files = await readModelFiles(src, signal);
  const gpu = await gpuFor(files.config, backend, format);
  if ('device' in gpu) {
    try {
      return { model: await streamToGpu(source, src, files, gpu, onProgress, signal), opened: gpu.opened };
    } catch (e) {
      gpu.device.destroy();
      if (signal?.aborted || e instanceof CheckpointError) throw e;
      gpu.reason = `WebGPU failed: ${(e as Error).message}`;
      gpu.choice = 'only';
    }
  }
  const m = await openModel(source, onProgress, signal, format);
  return { model: siteModel(m, source), opened: { ...cpuEngine(m, gpu.reason!), choice: gpu.choice } };
}

const siteModel = (m: HostModel, source: ModelSource): SiteModel => ({ ...m, head: { norm: m.weights.norm, lm_head: m.weights.lm_head }, source });

/** A device for the WebGPU engine, or why the CPU engine runs the model instead. */
type GpuChoice =
  | { reason: string; choice: BackendChoice }
  | { device: GPUDevice; description: string; format: WeightFormat | undefined; opened: Omit<OpenedEngine, 'engine'> & { engine: Engine }; reason?: string; choice: BackendChoice };

/** The streamed load onto `gpu`'s device; the norm and lm_head (embed_tokens when tied) kept in float32 for the lens. */
async function streamToGpu(source: ModelSource, src: CheckpointSource, files: { config: MixtralConfig; tokenizerJson: unknown | null }, gpu: Extract<GpuChoice, { device: GPUDevice }>, onProgress: (p: LoadProgress) => void, signal?: AbortSignal): Promise<SiteModel> {
  const { loadWebGpuModel } = await import('../../engine/webgpu/load.ts');
  const keeper = lensHeadKeeper(files.config);
  const streamed = await loadWebGpuModel(src, async () => ({ device: gpu.device, description: gpu.description }),
    { weights: gpu.format, signal, onProgress, onTensor: keeper.onTensor, files });
  // Files still on their way into the cache finish before the model is reported open.
  if ('settled' in src) await (src as CachedHubSource).settled();
  if (signal?.aborted) streamed.engine.dispose();
  signal?.throwIfAborted();
  gpu.opened.engine = streamed.engine;
  const label = source.kind === 'hub' ? source.model : streamed.label;
  return {
    label, config: streamed.config, tokenizerJson: streamed.tokenizerJson, dtypeBytes: streamed.dtypeBytes,
    tokenizer: streamed.tokenizerJson ? new MixscopeTokenizer(streamed.tokenizerJson) : null,
    parameters: countParameters(streamed.config), weights: null, head: keeper.head(), source,
    files: [], unusedTensors: [], unusedCount: 0,
  } as SiteModel;
}

/**
 * The CPU engine for `model` after its GPU device was lost: its weights, read again from its
 * source at stored width (about the file's size in memory) when it was streamed to the GPU.
 */
export async function cpuFallback(model: SiteModel, reason: string): Promise<{ model: SiteModel; opened: OpenedEngine }> {
  if (model.weights) return { model, opened: cpuEngine({ config: model.config, weights: model.weights, format: model.format }, reason) };
  const m = await loadStoredModel(checkpointSource(model.source), { maxWeightBytes: WORKER_MAX_WEIGHT_BYTES });
  const again: SiteModel = { ...model, weights: m.weights, format: m.format, head: { norm: m.weights.norm, lm_head: m.weights.lm_head } };
  return { model: again, opened: cpuEngine(m, reason) };
}

/**
 * The model's weights for a CPU computation (quant-routing): those the CPU engine holds, or on
 * WebGPU, read again from the source at stored width.
 */
export async function cpuWeightsOf(model: SiteModel, signal?: AbortSignal): Promise<CpuWeights> {
  if (model.weights) return model.weights;
  return (await loadStoredModel(checkpointSource(model.source, signal), { maxWeightBytes: WORKER_MAX_WEIGHT_BYTES, signal })).weights;
}

export type BackendChoice = 'fastest' | 'slower' | 'asked' | 'only';

/**
 * The faster engine: WebGPU on a hardware adapter; the CPU engine where WebGPU is missing, fails,
 * runs on a software fallback adapter (SwiftShader: several times slower than the CPU engine
 * for this model). Every family runs on both. `backend` 'cpu' or 'webgpu' (from the
 * address) asks for one. Gives a device sized for `config` (its engine is made as the weights
 * stream in), or the reason for the CPU engine; never throws for a missing GPU.
 */
async function gpuFor(config: MixtralConfig, backend: 'auto' | 'cpu' | 'webgpu', format?: WeightFormat): Promise<GpuChoice> {
  if (backend === 'cpu') return { reason: 'the CPU engine was asked for', choice: 'asked' };
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return { reason: 'this browser has no WebGPU', choice: 'only' };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { reason: 'WebGPU gave no adapter', choice: 'only' };
    const software = adapter.info.isFallbackAdapter === true;
    const adapterName = [adapter.info.vendor, adapter.info.architecture, adapter.info.description].filter(Boolean).join(' ') || 'adapter';
    if (software && backend === 'auto') return { reason: `faster here than WebGPU, whose adapter is a software fallback: ${adapterName}`, choice: 'fastest' };
    // Without a format asked for, the stream's first tensor decides (webgpu/load.ts): the device
    // is asked for what f32 would need, the most any format of this model needs.
    const device = await requestEngineDevice(adapter, config, format ?? 'f32');
    const meter = meterBuffers(device);
    const described = software ? `${adapterName}: a software adapter, slower than the CPU engine here` : adapterName;
    const choice: BackendChoice = software ? 'slower' : 'fastest';
    const lost = device.lost.then((info) => DeviceLostError.from(info));
    // The engine is set once the weights are on the device.
    return { device, description: `WebGPU (${described})`, format, choice, opened: { engine: null as unknown as Engine, reason: null, meter, choice, lost, weights: { format: format ?? null, bytes: null } } };
  } catch (e) {
    return { reason: `WebGPU failed: ${(e as Error).message}`, choice: 'only' };
  }
}

/** Kept for code that has a float32 model in hand: its best engine, as gpuFor chooses, made from memory. */
export async function openEngine(model: Model, backend: 'auto' | 'cpu' | 'webgpu'): Promise<OpenedEngine> {
  const gpu = await gpuFor(model.config, backend, weightStorageFor(model.dtypeBytes));
  if (!('device' in gpu)) return { ...cpuEngine(model, gpu.reason), choice: gpu.choice };
  try {
    const { WebGpuEngine } = await import('../../engine/webgpu/engine.ts');
    gpu.opened.engine = await WebGpuEngine.create(gpu.device, model.config, model.weights, { weights: gpu.format }, gpu.description);
    return gpu.opened;
  } catch (e) {
    return { ...cpuEngine(model, `WebGPU failed: ${(e as Error).message}`), choice: 'only' };
  }
}

export function modelInfo(model: Pick<Model, 'label' | 'config' | 'parameters'>, opened: OpenedEngine): ModelInfo {
  return {
    label: displayLabel(model.label, model.config as unknown as Record<string, unknown>),
    config: model.config,
    parameters: { total: model.parameters.total, activePerToken: model.parameters.activePerToken },
    backend: opened.engine.backend,
    backendDescription: opened.reason ? `CPU (${opened.reason})` : opened.engine.description,
    backendChoice: opened.choice ?? 'only',
    hookNames: hookNames(model.config),
    weights: opened.weights,
  };
}

/**
 * The model's name for readers: a URL's last folder, a chosen folder's name ("tiny (3 files)" ->
 * "tiny"), and for files chosen one by one (labelled "8 files" or "config.json") the config's
 * `_name_or_path` if it has one, else "your model".
 */
export function displayLabel(label: string, config: Record<string, unknown>): string {
  const short = shortLabel(label);
  const folder = /^(.+) \(\d+ files\)$/.exec(short);
  if (folder) return folder[1]!;
  if (/^\d+ files$/.test(short) || /\.(json|safetensors)$/i.test(short)) {
    const named = typeof config._name_or_path === 'string' ? config._name_or_path.split('/').filter(Boolean).at(-1) : undefined;
    return named || 'your model';
  }
  return short;
}

/** "https://host/models/mixscope-tiny/" -> "mixscope-tiny"; a files label stays as it is. */
export function shortLabel(label: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(label)) return label;
  try {
    const parts = new URL(label).pathname.split('/').filter(Boolean);
    return decodeURIComponent(parts.at(-1) ?? label);
  } catch {
    return label;
  }
}

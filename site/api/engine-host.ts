// Opens a checkpoint and the best engine for it: WebGPU where the browser gives an adapter,
// the CPU reference engine otherwise, with a one-line reason the page shows in its header.
// A load can be cancelled (its signal aborts the fetches and the parsing), and holds at most
// WORKER_MAX_WEIGHT_BYTES of weights: a larger checkpoint fails naming the tensor, before the
// tab runs out of memory. A load in a chosen weight format (f32, f16, q8, q4) for the CPU engine
// keeps the matrices in that format from the start (checkpoint/load-stored.ts); for WebGPU the
// float32 weights go to the engine with the format as its `weights` option.
import type { Engine } from '../../engine/engine.ts';
import { isFloat32Model, loadModel, loadStoredModel, type Model, type StoredModel } from '../../engine/model.ts';
import type { WeightFormat } from '../../engine/footprint/formats.ts';
import { convertWeights } from '../../engine/quant/quantize-weights.ts';
import { weightsBytesHeld } from '../../engine/cpu/stored-weights.ts';
import { WORKER_MAX_WEIGHT_BYTES } from './load-plan.ts';
import { urlSource, filesSource, type CheckpointSource } from '../../engine/checkpoint/index.ts';
import { hubSource } from '../../engine/hub/source.ts';
import { cachedHubSource, type CachedHubSource } from '../../engine/hub/browser-cache.ts';
import type { LoadProgress } from '../../engine/checkpoint/load.ts';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { webgpuUnsupported } from '../../engine/family.ts';
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
 * The CPU reference engine for `model`, with the reason it is used. Float32 weights loaded for
 * WebGPU in a chosen `format` are converted for it first.
 */
export function cpuEngine(model: HostModel, reason: string, format?: WeightFormat): OpenedEngine {
  const weights = format && isFloat32Model(model) ? convertWeights(model.weights, model.config, format) : model.weights;
  return { engine: new CpuEngine(model.config, weights), reason, meter: null, weights: { format: format ?? (isFloat32Model(model) ? null : model.format), bytes: weightsBytesHeld(weights) } };
}

export type BackendChoice = 'fastest' | 'slower' | 'asked' | 'only';

/**
 * The faster engine: WebGPU on a hardware adapter; the CPU engine where WebGPU is missing, fails,
 * runs on a software fallback adapter (SwiftShader: several times slower than the CPU engine
 * for this model), or cannot run the model's family yet. `backend` 'cpu' or 'webgpu' (from the
 * address) asks for one. Never throws for a missing GPU.
 */
export async function openEngine(model: HostModel, backend: 'auto' | 'cpu' | 'webgpu', format?: WeightFormat): Promise<OpenedEngine> {
  const cpu = (reason: string, choice: BackendChoice = 'only'): OpenedEngine => ({ ...cpuEngine(model, reason, format), choice });
  if (backend === 'cpu') return cpu('the CPU engine was asked for', 'asked');
  const unsupported = webgpuUnsupported(model.config);
  if (unsupported) return cpu(unsupported);
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return cpu('this browser has no WebGPU');
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return cpu('WebGPU gave no adapter');
    const software = adapter.info.isFallbackAdapter === true;
    const adapterName = [adapter.info.vendor, adapter.info.architecture, adapter.info.description].filter(Boolean).join(' ') || 'adapter';
    if (software && backend === 'auto') return cpu(`faster here than WebGPU, whose adapter is a software fallback: ${adapterName}`, 'fastest');
    // Weights loaded in a format for the CPU engine go nowhere else.
    if (!isFloat32Model(model)) return cpu('the weights were loaded in a format for the CPU engine');
    const f16 = format ? format === 'f16' : weightStorageFor(model.dtypeBytes) === 'f16';
    const device = await requestEngineDevice(adapter, model.config, f16 ? 'f16' : 'f32');
    const meter = meterBuffers(device);
    const { WebGpuEngine } = await import('../../engine/webgpu/engine.ts');
    const info = adapter.info;
    const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'adapter';
    const described = software ? `${name}: a software adapter, slower than the CPU engine here` : name;
    // A chosen format goes to the engine as it is (WebGpuEngineOptions.weights is a WeightFormat
    // where the engine takes q8 and q4; where it is typed 'f16' | 'f32' this widens).
    const weights = (format ?? (f16 ? 'f16' : 'f32')) as 'f16' | 'f32';
    const engine = await WebGpuEngine.create(device, model.config, model.weights, { weights }, `WebGPU (${described})`);
    return { engine, reason: null, meter, choice: software ? 'slower' : 'fastest', lost: device.lost.then((info) => DeviceLostError.from(info)), weights: { format: format ?? null, bytes: null } };
  } catch (e) {
    return cpu(`WebGPU failed: ${(e as Error).message}`);
  }
}

export function modelInfo(model: HostModel, opened: OpenedEngine): ModelInfo {
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

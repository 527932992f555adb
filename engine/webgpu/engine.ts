// The WebGPU engine: the Mixtral forward of forward.ts on WGSL kernels, behind the common Engine
// interface. It holds one device's compiled kernels (kernels.ts) and the uploaded weights
// (upload.ts), opens sessions (session.ts) and releases those still open with itself, and counts
// what its calls did on the device (`counters`). Once the device is lost, every call fails with
// DeviceLostError, a call in flight at the loss included.
import type { MixtralConfig } from '../config.ts';
import type { MixtralWeights } from '../weights.ts';
import { RequestError } from '../errors.ts';
import type { Engine, ForwardRequest } from '../engine.ts';
import { DeviceLostError, GpuError, newCounters, validated, type Counters } from './gpu.ts';
import { createKernels, disposeKernels, type Kernels } from './kernels.ts';
import { bindingLimit } from './split.ts';
import { uploadTensors, uploadWeights, weightBuffers, type GpuWeights } from './upload.ts';
import type { WeightFormat } from '../footprint/formats.ts';
import type { StoredTensor } from '../checkpoint/tensor-reader.ts';
import type { WeightPlan } from '../checkpoint/checkpoint-files.ts';
import { GpuSession, type GpuForwardResult } from './session.ts';

export interface WebGpuEngineOptions {
  /**
   * Storage of the big matrices (default 'f32'): 'f16' (packed halves, exact for F16
   * checkpoints), 'f32', or 'q8' / 'q4' (engine/quant/quantize.ts; the router's gate, norms and
   * vectors stay f32 in every format).
   */
  weights?: WeightFormat;
  /** Time every kernel with timestamp queries (needs the device's 'timestamp-query' feature); each dispatch then gets a compute pass of its own. */
  profile?: boolean;
  /** Time every call's GPU work as a whole with two timestamps (`gpuMs` in its result; needs 'timestamp-query'). */
  timestamps?: boolean;
  /** Storage of the KV cache: 'f32' (default, exact) or 'f16' (packed halves: half the memory and bandwidth). */
  kvCache?: 'f16' | 'f32';
  /**
   * Bytes one weight buffer may hold, below the device's own limits: tensors larger than this are
   * split into parts. For tests of the splitting on small models; the device's limits always apply.
   */
  maxBindingBytes?: number;
  /**
   * Use the subgroup kernels where the device has the `subgroups` feature (default true); false
   * runs the workgroup-reduction kernels every adapter has (tests of that path).
   */
  subgroups?: boolean;
}

/** GPU time per kernel (milliseconds, summed over its dispatches) of the last profiled call. */
export type KernelTimes = Record<string, number>;

/**
 * The loss behind a failed GPU call, or null: `lost` (the device's `lost` promise) when it
 * settles within `graceMs` of an aborted map. A browser rejects a pending mapAsync with an
 * AbortError as the device goes, and may resolve `device.lost` only afterwards.
 */
export async function lossBehind(error: unknown, lost: Promise<GPUDeviceLostInfo>, graceMs = 1000): Promise<DeviceLostError | null> {
  if (!(error instanceof Error) || (error.name !== 'AbortError' && error.name !== 'OperationError')) return null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const info = await Promise.race([lost, new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), graceMs); })]);
  clearTimeout(timer);
  return info ? DeviceLostError.from(info) : null;
}

/** What an engine is made of, once its kernels are compiled and its weights uploaded. */
interface EngineParts {
  device: GPUDevice;
  config: MixtralConfig;
  kernels: Kernels;
  weights: GpuWeights;
  description: string;
  profile: boolean;
  timestamps: boolean;
}

export class WebGpuEngine implements Engine {
  readonly backend = 'webgpu' as const;
  readonly device: GPUDevice;
  readonly config: MixtralConfig;
  readonly kernels: Kernels;
  readonly weights: GpuWeights;
  readonly description: string;
  /** Whether every kernel is timed: asked for, and the device has timestamp queries. */
  readonly profile: boolean;
  /** Whether every call's GPU time is measured: asked for, and the device has timestamp queries. */
  readonly timestamps: boolean;
  /** Kernel times of the last profiled call. */
  lastKernelTimes: KernelTimes | null = null;
  /** What this engine's calls did on the device so far: dispatches, compute passes, copies, maps, queue writes, error scopes. */
  readonly counters: Counters = newCounters();
  /** Errors the device reported outside any error scope (a steady call pushes none), and the last one's message. */
  uncapturedErrors = 0;
  lastUncapturedError = '';
  private readonly sessions = new Set<GpuSession>();
  private lost: DeviceLostError | null = null;
  private disposed = false;

  private constructor(p: EngineParts) {
    this.device = p.device;
    this.config = p.config;
    this.kernels = p.kernels;
    this.weights = p.weights;
    this.description = p.description;
    this.profile = p.profile;
    this.timestamps = p.timestamps;
    p.device.lost.then((info) => { this.lost = DeviceLostError.from(info); });
    p.device.addEventListener('uncapturederror', this.onError);
  }

  /** Counts errors outside any scope; removed on dispose, so engines made and dropped on one device leave nothing behind. */
  private readonly onError = (e: Event): void => {
    this.uncapturedErrors++;
    this.lastUncapturedError = (e as GPUUncapturedErrorEvent).error.message;
  };

  /** An engine from float32 weights in memory (tests, small models): uploaded, then yours to drop. */
  static async create(device: GPUDevice, config: MixtralConfig, weights: MixtralWeights, options: WebGpuEngineOptions = {}, description = 'WebGPU'): Promise<WebGpuEngine> {
    const format = options.weights ?? 'f32';
    return WebGpuEngine.build(device, config, options, description,
      (limit) => validated(device, 'upload weights', () => uploadWeights(device, config, weights, format, limit)));
  }

  /**
   * An engine from a stream of stored tensors (`readTensors(source, { config })`): each tensor is
   * converted to the engine's format, written to its GPU buffer and released as it arrives, so the
   * load holds one tensor at a time, never the model. `plan` (readTensors' report) names the
   * files in the error for a tensor the stream did not bring.
   */
  static async load(device: GPUDevice, config: MixtralConfig, tensors: AsyncIterable<StoredTensor>, options: WebGpuEngineOptions & { plan?: () => WeightPlan | undefined; onTensor?: (t: StoredTensor) => void } = {}, description = 'WebGPU'): Promise<WebGpuEngine> {
    const format = options.weights ?? 'f32';
    return WebGpuEngine.build(device, config, options, description, async (limit) => {
      // The scopes stay open across the stream's awaits: nothing else uses a device being loaded.
      device.pushErrorScope('out-of-memory');
      device.pushErrorScope('validation');
      const uploaded = await uploadTensors(device, config, tensors, format, limit, { plan: options.plan, onTensor: options.onTensor }).catch((e: unknown) => e as Error);
      const [invalid, oom] = [await device.popErrorScope(), await device.popErrorScope()];
      if (uploaded instanceof Error) throw uploaded;
      if (invalid || oom) {
        for (const b of weightBuffers(uploaded)) b.destroy();
        throw new GpuError(invalid ? `upload weights: WebGPU validation error: ${invalid.message}` : `upload weights: out of GPU memory: ${oom!.message}`);
      }
      return uploaded;
    });
  }

  private static async build(device: GPUDevice, config: MixtralConfig, options: WebGpuEngineOptions, description: string, upload: (limit: number) => Promise<GpuWeights>): Promise<WebGpuEngine> {
    const format = options.weights ?? 'f32';
    if (config.hidden_size % 2 || config.intermediate_size % 2 || (config.num_attention_heads * config.head_dim) % 2) {
      throw new GpuError('the WebGPU engine reads weights in pairs: hidden_size, intermediate_size and heads*head_dim must be even');
    }
    const kernels = await createKernels(device, { format, f16KV: options.kvCache === 'f16', subgroups: options.subgroups ?? true });
    try {
      const uploaded = await upload(bindingLimit(device, options.maxBindingBytes));
      const timed = device.features.has('timestamp-query');
      return new WebGpuEngine({ device, config, kernels, weights: uploaded, description, profile: (options.profile ?? false) && timed, timestamps: (options.timestamps ?? false) && timed });
    } catch (e) {
      disposeKernels(kernels);
      throw e;
    }
  }

  /** A new sequence with an empty KV cache; dispose it when done. */
  createSession(): GpuSession {
    if (this.lost) throw this.lost;
    if (this.disposed) throw new RequestError('this engine was disposed: create a new one');
    const s = new GpuSession(this, (gone) => this.sessions.delete(gone));
    this.sessions.add(s);
    return s;
  }

  async forward(ids: readonly number[], request?: ForwardRequest): Promise<GpuForwardResult> {
    using session = this.createSession();
    return await session.forward(ids, request);
  }

  /**
   * Run a call on the device. Once the device is lost it fails with DeviceLostError, and so
   * does a call that fails because of the loss, even when the loss is reported after the failure.
   */
  async guard<R>(call: () => Promise<R>): Promise<R> {
    if (this.lost) throw this.lost;
    try {
      return await call();
    } catch (e) {
      throw this.lost ?? (await lossBehind(e, this.device.lost)) ?? e;
    }
  }

  /** Release the weights, the kernels' cached passes and every session still open. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of [...this.sessions]) s.dispose();
    for (const b of weightBuffers(this.weights)) b.destroy();
    disposeKernels(this.kernels);
    this.device.removeEventListener('uncapturederror', this.onError);
  }

  [Symbol.dispose](): void { this.dispose(); }
}

// WebGPU in Node through the `webgpu` package (Dawn). Without a GPU, Debian's chromium ships
// SwiftShader's Vulkan driver, which Dawn finds through VK_ICD_FILENAMES.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { register } from 'node:module';
import type { WebGpuEngine, WebGpuEngineOptions } from './webgpu/engine.ts';
import type { MixtralConfig } from './config.ts';
import type { MixtralWeights } from './weights.ts';
import { GpuError } from './webgpu/gpu.ts';
import { requestEngineDevice } from './webgpu/limits.ts';
import { weightStorageFor } from './checkpoint/dtype.ts';
import type { WeightFormat } from './footprint/formats.ts';
import type { CheckpointSource } from './checkpoint/source.ts';
import type { StreamedLoadOptions, StreamedModel } from './webgpu/load.ts';

// The kernels import their WGSL as `shaders/x.wgsl?raw` (Vite's convention, which Vitest and the
// site understand). Plain Node does not: this load hook gives such a module its file's text.
const WGSL_LOADER = `
import { readFile } from 'node:fs/promises';
export async function load(url, context, next) {
  if (url.startsWith('file:') && /\\.wgsl\\?raw$/.test(url)) {
    const text = await readFile(new URL(url.replace(/\\?raw$/, '')), 'utf8');
    return { format: 'module', source: 'export default ' + JSON.stringify(text) + ';', shortCircuit: true };
  }
  return next(url, context);
}`;
let loaderRegistered = false;
export function registerWgslLoader(): void {
  // Under Vite or Vitest (import.meta.env exists) `?raw` already works.
  if (loaderRegistered || (import.meta as { env?: unknown }).env) return;
  register(`data:text/javascript,${encodeURIComponent(WGSL_LOADER)}`);
  loaderRegistered = true;
}

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** The Dawn instance must stay referenced while its devices are used. */
const instances: unknown[] = [];

/** Dawn's adapter (SwiftShader's when the machine has no GPU); sets Dawn's globals (GPUBufferUsage, ...). */
export async function requestNodeAdapter(): Promise<GPUAdapter> {
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  // Vulkan's window-system probing complains on stderr without a runtime directory.
  process.env.XDG_RUNTIME_DIR ??= mkdtempSync(path.join(tmpdir(), 'mixscope-xdg-'));
  let mod: typeof import('webgpu');
  try { mod = await import('webgpu'); } catch (e) {
    throw new GpuError(`WebGPU in Node needs the "webgpu" package (npm install webgpu): ${(e as Error).message}`);
  }
  Object.assign(globalThis, mod.globals);
  // Dawn rounds timestamp queries to 65.5 us by default (a browser's guard against timing
  // attacks); a process timing kernels wants them as the GPU gives them.
  const gpu = mod.create(['disable-dawn-features=timestamp_quantization']);
  instances.push(gpu);
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new GpuError(`no WebGPU adapter (install Debian's chromium for SwiftShader, or a Vulkan driver; VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'})`);
  return adapter;
}

/** A device for an engine of `config` with weights stored as `dtype`, asked for as the browser asks (limits.ts). */
export async function requestNodeGpuDevice(config: MixtralConfig, dtype: WeightFormat): Promise<{ device: GPUDevice; adapter: GPUAdapter }> {
  const adapter = await requestNodeAdapter();
  return { device: await requestEngineDevice(adapter, config, dtype), adapter };
}

/** A WebGPU engine on Dawn; F16-only checkpoints keep packed halves on the GPU. */
export async function createNodeWebGpuEngine(config: MixtralConfig, weights: MixtralWeights, dtypeBytes: Record<string, number>, options: WebGpuEngineOptions = {}): Promise<WebGpuEngine> {
  registerWgslLoader();
  const { WebGpuEngine } = await import('./webgpu/engine.ts');
  const dtype = options.weights ?? weightStorageFor(dtypeBytes);
  const { device, adapter } = await requestNodeGpuDevice(config, dtype);
  return WebGpuEngine.create(device, config, weights, { ...options, weights: dtype }, adapterDescription(adapter));
}

const adapterDescription = (adapter: GPUAdapter) =>
  `WebGPU (${[adapter.info.vendor, adapter.info.architecture, adapter.info.description].filter(Boolean).join(' ')})`;

/**
 * A checkpoint streamed onto a WebGPU engine on Dawn, one tensor at a time (webgpu/load.ts): the
 * process never holds the model, only the tensor being uploaded. `options.weights` is the format
 * (default: f16 when the checkpoint stores F16, else f32).
 */
export async function loadNodeWebGpuModel(source: CheckpointSource, options: StreamedLoadOptions = {}): Promise<StreamedModel> {
  registerWgslLoader();
  const { loadWebGpuModel } = await import('./webgpu/load.ts');
  return loadWebGpuModel(source, async (config, format) => {
    const { device, adapter } = await requestNodeGpuDevice(config, format);
    return { device, description: adapterDescription(adapter) };
  }, options);
}

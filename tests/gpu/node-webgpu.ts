// WebGPU in Node through the `webgpu` package (Dawn), on SwiftShader when there is no GPU.
import { existsSync } from 'node:fs';
import { engineFeatures } from '../../engine/webgpu/limits.ts';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** The Dawn instance: adapters and devices live only while this object is referenced. */
export interface NodeGpu { gpu: GPU; adapter: GPUAdapter; device: GPUDevice; info: GPUAdapterInfo }

/** A device, or the reason there is none. Sets Dawn's globals (GPUBufferUsage, ...) once. */
export async function requestNodeDevice(): Promise<NodeGpu | { reason: string }> {
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  let mod: typeof import('webgpu');
  try { mod = await import('webgpu'); } catch (e) { return { reason: `cannot load the webgpu package: ${(e as Error).message}` }; }
  Object.assign(globalThis, mod.globals);
  // Timestamps as the GPU gives them (Dawn rounds them to 65.5 us by default), as engine/node-webgpu.ts asks.
  const gpu = mod.create(['disable-dawn-features=timestamp_quantization']);
  const adapter = await gpu.requestAdapter();
  if (!adapter) return { reason: `Dawn found no adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'})` };
  // The engine's optional features (subgroups), so that tests run the kernels a user's device runs.
  const device = await adapter.requestDevice({
    requiredFeatures: engineFeatures(adapter),
    requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize },
  });
  return { gpu, adapter, device, info: adapter.info };
}

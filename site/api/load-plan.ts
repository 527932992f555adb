// Before a download: what the checkpoint is, how much will be fetched (and how much this browser
// already stores), what its weights will take on the engine this page would use, and whether this
// adapter can hold them. Runs in the worker; reads config.json and sizes, never the weights.
import { inspectCheckpoint, type CheckpointInspection } from '../../engine/footprint/inspect.ts';
import { planForDevice, type DevicePlan } from '../../engine/footprint/device-plan.ts';
import type { BindingLimits } from '../../engine/footprint/footprint.ts';
import type { CheckpointSource } from '../../engine/checkpoint/source.ts';
import type { CachedHubSource } from '../../engine/hub/browser-cache.ts';
import { MODEL_TYPES } from '../../engine/family.ts';

export interface LoadPlan {
  inspection: CheckpointInspection;
  device: DevicePlan;
  /** Bytes of the files this browser already stores (a Hub model's cache); 0 elsewhere. */
  storedBytes: number;
  /** Why the model cannot be opened here, with the numbers; null when it can. */
  refusal: string | null;
}

/** The WebGPU adapter's binding limits, or null where there is no WebGPU (the CPU engine runs). */
export async function adapterLimits(backend: 'auto' | 'cpu' | 'webgpu'): Promise<BindingLimits | null> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (backend === 'cpu' || !gpu) return null;
  const adapter = await gpu.requestAdapter().catch(() => null);
  return adapter ? { maxBufferSize: adapter.limits.maxBufferSize, maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } : null;
}

export async function planLoad(source: CheckpointSource, backend: 'auto' | 'cpu' | 'webgpu'): Promise<LoadPlan> {
  const inspection = await inspectCheckpoint(source);
  const runs = (MODEL_TYPES as readonly string[]).includes(inspection.modelType);
  // Every family this engine runs, runs on WebGPU too: sized for the adapter where there is one.
  const limits = runs ? await adapterLimits(backend) : null;
  const device = planForDevice(inspection, limits ? 'webgpu' : 'cpu', limits);
  const stored = 'stored' in source ? await (source as CachedHubSource).stored() : null;
  const storedBytes = stored ? inspection.files.reduce((a, f) => a + (stored.files[f.name] ?? 0), 0) : 0;
  const refusal = !runs
    ? `${inspection.modelType} models cannot be run by this engine (it runs ${MODEL_TYPES.join(', ')})`
    : device.fit && !device.fit.fits ? device.fit.message : null;
  return { inspection, device, storedBytes, refusal };
}

// Before a download: what the checkpoint is, how much will be fetched (and how much this browser
// already stores), what its weights will take on the engine this page would use in each format,
// the format it would load in, and whether this adapter can hold them. Runs in the worker; reads
// config.json and sizes, never the weights.
import { inspectCheckpoint, type CheckpointInspection } from '../../engine/footprint/inspect.ts';
import { defaultWeightFormat, formatChoices, planForDevice, type DevicePlan, type FormatChoice } from '../../engine/footprint/device-plan.ts';
import type { BindingLimits } from '../../engine/footprint/footprint.ts';
import type { WeightFormat } from '../../engine/footprint/formats.ts';
import type { CheckpointSource } from '../../engine/checkpoint/source.ts';
import type { CachedHubSource } from '../../engine/hub/browser-cache.ts';
import { MODEL_TYPES } from '../../engine/family.ts';
import type { WeightChoice } from './protocol.ts';

/**
 * The most bytes of weights a tab holds, in the format they are kept in: 4 GiB. Browsers refuse
 * single allocations well before a machine's memory is full, and a tab that runs out takes every
 * notebook with it.
 */
export const WORKER_MAX_WEIGHT_BYTES = 4 * 2 ** 30;

export interface LoadPlan {
  inspection: CheckpointInspection;
  device: DevicePlan;
  /** Each format's memory on this page's engine, and why it does not fit where it does not. */
  choices: FormatChoice[];
  /** The format a load with this choice uses: the one asked for, else this device's default (null: none fits). */
  format: WeightFormat | null;
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

export async function planLoad(source: CheckpointSource, backend: 'auto' | 'cpu' | 'webgpu', weights?: WeightChoice): Promise<LoadPlan> {
  const inspection = await inspectCheckpoint(source);
  const runs = (MODEL_TYPES as readonly string[]).includes(inspection.modelType);
  // Every family this engine runs, runs on WebGPU too: sized for the adapter where there is one.
  const limits = runs ? await adapterLimits(backend) : null;
  const on = limits ? 'webgpu' : 'cpu';
  const choices = formatChoices(inspection, on, limits, WORKER_MAX_WEIGHT_BYTES);
  const format = weights && weights !== 'auto' ? weights : defaultWeightFormat(inspection, on, limits, WORKER_MAX_WEIGHT_BYTES);
  // Unchosen, the engine keeps its own layout (what `device` has always described).
  const device = weights ? planForDevice(inspection, on, limits, format ?? undefined) : planForDevice(inspection, on, limits);
  const stored = 'stored' in source ? await (source as CachedHubSource).stored() : null;
  const storedBytes = stored ? inspection.files.reduce((a, f) => a + (stored.files[f.name] ?? 0), 0) : 0;
  const chosen = weights ? choices.find((c) => c.format === format) : undefined;
  const refusal = !runs
    ? `${inspection.modelType} models cannot be run by this engine (it runs ${MODEL_TYPES.join(', ')})`
    : weights && !format ? (device.fit && !device.fit.fits ? device.fit.message : `no weight format fits here: ${choices.at(-1)?.reason ?? 'none is offered'}`)
      : chosen && !chosen.fits ? chosen.reason
        : device.fit && !device.fit.fits ? device.fit.message : null;
  return { inspection, device, choices, format, storedBytes, refusal };
}

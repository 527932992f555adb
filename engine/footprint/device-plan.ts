// The numbers a person sees before a download: the files, and what the weights will take on the
// engine that would run them, with whether this adapter can hold them. Pure and browser-safe.
import type { WeightFormat } from './formats.ts';
import { checkFit, type BindingLimits, type FitCheck, type WeightFootprint } from './footprint.ts';
import type { CheckpointInspection } from './inspect.ts';

export interface DevicePlan {
  backend: 'webgpu' | 'cpu';
  /** The format the engine would keep the big matrices in. */
  format: WeightFormat;
  footprint: WeightFootprint;
  /** The adapter's limits and whether the model fits them (null on the CPU, which has no bindings). */
  limits: BindingLimits | null;
  fit: FitCheck | null;
}

/**
 * The format an engine keeps a checkpoint's matrices in by default. WebGPU: packed halves for F16
 * files (exact), f32 otherwise (BF16 and F32 do not fit halves exactly). The CPU engine keeps
 * them as stored (cpu/stored-weights.ts): a BF16 matrix takes what an f16 one does.
 */
export function engineFormat(backend: 'webgpu' | 'cpu', stored: CheckpointInspection['storedDtype']): WeightFormat {
  if (backend === 'cpu') return stored === 'F16' || stored === 'BF16' ? 'f16' : 'f32';
  return stored === 'F16' ? 'f16' : 'f32';
}

export function planForDevice(inspection: CheckpointInspection, backend: 'webgpu' | 'cpu', limits: BindingLimits | null, format = engineFormat(backend, inspection.storedDtype)): DevicePlan {
  const footprint = inspection.formats[format];
  return { backend, format, footprint, limits, fit: backend === 'webgpu' && limits ? checkFit(footprint, limits) : null };
}

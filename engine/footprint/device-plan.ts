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
 * The format an engine keeps a checkpoint's matrices in today: packed halves for F16 files
 * (exact), f32 otherwise (BF16 and F32 do not fit halves exactly). The CPU engine keeps f32.
 */
export function engineFormat(backend: 'webgpu' | 'cpu', stored: CheckpointInspection['storedDtype']): WeightFormat {
  return backend === 'webgpu' && stored === 'F16' ? 'f16' : 'f32';
}

export function planForDevice(inspection: CheckpointInspection, backend: 'webgpu' | 'cpu', limits: BindingLimits | null, format = engineFormat(backend, inspection.storedDtype)): DevicePlan {
  const footprint = inspection.formats[format];
  return { backend, format, footprint, limits, fit: backend === 'webgpu' && limits ? checkFit(footprint, limits) : null };
}

/** The formats a device is offered, most exact first: halves, then 8 bits, then 4 bits. */
const BY_PREFERENCE: readonly WeightFormat[] = ['f16', 'q8', 'q4'];

/**
 * The weight format a model should load in on a WebGPU device: f16 where it fits, else q8, else
 * q4. A format fits when its largest piece fits one binding of `limits` and all its weights fit
 * `budgetBytes` (the memory the caller will give the weights: WebGPU does not tell a page how much
 * the device has, so the site and the CLI pass what they know, or nothing). When none fits, q4
 * (the smallest) with `fits: false` and the reason, so the caller can refuse with the numbers.
 */
export function defaultWeightFormat(formats: Pick<CheckpointInspection, 'formats'>['formats'], limits: BindingLimits, budgetBytes = Infinity): { format: WeightFormat; fits: boolean; message: string } {
  for (const format of BY_PREFERENCE) {
    const fp = formats[format];
    const fit = checkFit(fp, limits);
    if (fit.fits && fp.bytes <= budgetBytes) return { format, fits: true, message: fit.message };
  }
  const q4 = formats.q4, fit = checkFit(q4, limits);
  const message = fit.fits ? `cannot run here: even in q4 the weights take ${q4.bytes} bytes, over the ${budgetBytes} bytes available` : fit.message;
  return { format: 'q4', fits: false, message };
}

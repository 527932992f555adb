// The numbers a person sees before a download: the files, and what the weights will take on the
// engine that would run them, with whether this adapter can hold them. Pure and browser-safe.
import { WEIGHT_FORMATS, type WeightFormat } from './formats.ts';
import { checkFit, formatBytes, type BindingLimits, type FitCheck, type WeightFootprint } from './footprint.ts';
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

/** What one weight format would take on a device, and whether it fits there. */
export interface FormatChoice {
  format: WeightFormat;
  bytes: number;
  fits: boolean;
  /** Why it does not fit, with the numbers (null when it fits). */
  reason: string | null;
}

/**
 * Each format's memory on `backend` and whether it fits: the weights within `budgetBytes` (what
 * the engine may hold: a tab's share, a machine's memory), and on WebGPU the largest piece within
 * what the adapter binds.
 */
export function formatChoices(inspection: CheckpointInspection, backend: 'webgpu' | 'cpu', limits: BindingLimits | null, budgetBytes = Infinity): FormatChoice[] {
  return WEIGHT_FORMATS.map((format) => {
    const fp = inspection.formats[format];
    let reason: string | null = null;
    if (fp.bytes > budgetBytes) reason = `${formatBytes(fp.bytes)} of weights in ${format}, over the ${formatBytes(budgetBytes)} this engine may hold`;
    else if (backend === 'webgpu' && limits) { const fit = checkFit(fp, limits); if (!fit.fits) reason = fit.message; }
    return { format, bytes: fp.bytes, fits: reason === null, reason };
  });
}

/**
 * The format a device loads a checkpoint in when no one chose: f16 where it fits (on the CPU the
 * checkpoint's own width, which is exact: f32 for an F32 file, then f16), else q8, else q4; null
 * when none fits. On WebGPU "fits" is the binding limit and the budget; on the CPU the budget.
 */
export function defaultWeightFormat(inspection: CheckpointInspection, backend: 'webgpu' | 'cpu', limits: BindingLimits | null, budgetBytes = Infinity): WeightFormat | null {
  const order: WeightFormat[] = backend === 'cpu' && engineFormat('cpu', inspection.storedDtype) === 'f32' ? ['f32', 'f16', 'q8', 'q4'] : ['f16', 'q8', 'q4'];
  const choices = formatChoices(inspection, backend, limits, budgetBytes);
  return order.find((f) => choices.find((c) => c.format === f)!.fits) ?? null;
}

export function planForDevice(inspection: CheckpointInspection, backend: 'webgpu' | 'cpu', limits: BindingLimits | null, format = engineFormat(backend, inspection.storedDtype)): DevicePlan {
  const footprint = inspection.formats[format];
  return { backend, format, footprint, limits, fit: backend === 'webgpu' && limits ? checkFit(footprint, limits) : null };
}

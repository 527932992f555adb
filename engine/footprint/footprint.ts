// What a model's weights take on a device in a given format, and whether the device can hold
// them: WebGPU binds at most maxStorageBufferBindingSize bytes per buffer (and allocates at most
// maxBufferSize). The engine stores (V, D) tables in parts of whole rows and a layer's experts in
// parts of whole experts, so what must fit one binding is one row, one expert's matrix, or any
// other tensor whole (engine/webgpu/split.ts). Pure and browser-safe.
import { matrixBytes, type WeightFormat } from './formats.ts';
import type { MoeTensorTable, TensorGroup } from './moe-tensors.ts';

export interface WeightFootprint {
  format: WeightFormat;
  /** Bytes of every weight on the device. */
  bytes: number;
  /** The largest piece that cannot be split further (one row, one expert, or a tensor), and its bytes. */
  largest: { name: string; bytes: number };
}

/** Bytes of one tensor of `g` as the engine stores it: matrices in `format`, vectors and routers f32. */
export function storedBytes(g: Pick<TensorGroup, 'shape' | 'role'>, format: WeightFormat): number {
  const n = g.shape.reduce((a, b) => a * b, 1);
  if (g.role === 'vector' || g.role === 'router' || g.shape.length < 2) return 4 * n;
  const cols = g.shape[g.shape.length - 1];
  return matrixBytes(format, n / cols, cols);
}

/** The smallest piece of one tensor of `g` that must fit one binding. */
function unitBytes(g: TensorGroup, format: WeightFormat): number {
  if (g.role === 'embedding' || g.role === 'lm_head') return storedBytes({ shape: [1, g.shape[1]], role: g.role }, format);
  return storedBytes(g, format);
}

export function weightFootprint(t: MoeTensorTable, format: WeightFormat): WeightFootprint {
  let bytes = 0;
  let largest = { name: '', bytes: 0 };
  for (const g of t.groups) {
    bytes += storedBytes(g, format) * g.count;
    const unit = unitBytes(g, format);
    if (unit > largest.bytes) {
      const rowOf = g.role === 'embedding' || g.role === 'lm_head' ? ' (one row)' : '';
      largest = { name: `${g.name}${rowOf}`, bytes: unit };
    }
  }
  return { format, bytes, largest };
}

/** The WebGPU limits that decide whether a model fits (a GPUAdapter's `limits` has them). */
export interface BindingLimits { maxBufferSize: number; maxStorageBufferBindingSize: number }

/** What WebGPU guarantees every adapter: 256 MiB per buffer, 128 MiB per storage binding. */
export const DEFAULT_LIMITS: BindingLimits = { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20 };

export interface FitCheck {
  fits: boolean;
  /** The binding limit the largest piece is held to: min(maxStorageBufferBindingSize, maxBufferSize). */
  limit: number;
  /** One line with the numbers: what needs what, and what this adapter allows. */
  message: string;
}

/** Whether `fp` fits an adapter with `limits`; when not, the message says by how much. */
export function checkFit(fp: WeightFootprint, limits: BindingLimits): FitCheck {
  const limit = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  const fits = fp.largest.bytes <= limit;
  const message = fits
    ? `${formatBytes(fp.bytes)} of weights in ${fp.format}; largest buffer ${formatBytes(fp.largest.bytes)} (${fp.largest.name}) within this adapter's ${formatBytes(limit)} per binding`
    : `cannot run here in ${fp.format}: ${fp.largest.name} needs ${formatBytes(fp.largest.bytes)} in one buffer, and this adapter binds at most ${formatBytes(limit)} (maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}, maxBufferSize ${limits.maxBufferSize})`;
  return { fits, limit, message };
}

/** 664 B, 21.7 MB, 93.4 GB: decimal units, as the Hub shows file sizes. */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let u = 0;
  while (n >= 1000 && u < units.length - 1) { n /= 1000; u++; }
  return u === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 2 : 1)} ${units[u]}`;
}

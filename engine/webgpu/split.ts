// Tensors larger than one storage binding: a real Mixtral's embedding and lm_head (32000 x 4096
// halves, 262 MB) exceed the 128 MiB binding that WebGPU guarantees, and a layer's eight experts
// in one buffer exceed most adapters' limits. Such a tensor is stored as parts of whole rows
// (vocabulary rows, or whole experts), each under the limit; the kernels dispatch once per part.
import { GpuError } from './gpu.ts';

/** Rows row0 .. row0 + rows - 1 of a tensor, in their own buffer. */
export interface Part { buffer: GPUBuffer; row0: number; rows: number }

/** The largest buffer one binding can hold on `device`, lowered by `maxBindingBytes` (tests). */
export function bindingLimit(device: GPUDevice, maxBindingBytes = Infinity): number {
  return Math.min(maxBindingBytes, device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
}

/**
 * Row ranges of `rows` rows of `rowBytes` each, as few as fit under `limit` bytes apiece.
 * Throws, naming the tensor, when one row alone is over the limit.
 */
export function splitRows(name: string, rows: number, rowBytes: number, limit: number): { row0: number; rows: number }[] {
  const perPart = Math.floor(limit / rowBytes);
  if (perPart < 1) {
    throw new GpuError(`${name}: one row is ${rowBytes} bytes but this device binds at most ${limit} bytes per buffer (maxStorageBufferBindingSize/maxBufferSize); this model cannot run on this adapter`);
  }
  const out: { row0: number; rows: number }[] = [];
  for (let row0 = 0; row0 < rows; row0 += perPart) out.push({ row0, rows: Math.min(perPart, rows - row0) });
  return out;
}

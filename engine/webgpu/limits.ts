// The device an engine asks for: WebGPU gives a device only the default limits (128 MiB per
// storage binding, 256 MiB per buffer) unless it asks for more, and a real Mixtral's tensors are
// larger. Ask for what the model's largest tensor needs, up to what the adapter offers; what
// is still too large is split into parts when the engine uploads it (split.ts), or refused there
// with an error naming the tensor.
import type { MixtralConfig } from '../config.ts';
import { MIXTRAL_TENSORS, tensorShape } from '../checkpoint/tensor-specs.ts';
import type { WeightFormat } from '../footprint/formats.ts';
import { partLayout } from './weight-layout.ts';

/**
 * Bytes of the largest weight buffer the engine would make if nothing were split: the largest
 * tensor of the table as upload.ts stores it, a layer's experts stacked in one buffer.
 */
export function largestTensorBytes(c: MixtralConfig, dtype: WeightFormat): number {
  return Math.max(...MIXTRAL_TENSORS.map((t) => {
    const shape = tensorShape(c, t.dims), cols = shape[shape.length - 1];
    const rows = shape.reduce((a, b) => a * b, 1) / cols * (t.scope === 'expert' ? c.num_local_experts : 1);
    return partLayout(t.f32 || shape.length === 1 ? 'f32' : dtype, rows, cols).bytes;
  }));
}

/** requiredLimits for `adapter.requestDevice` sized to the model, never above the adapter's. */
export function requiredLimitsFor(adapter: GPUAdapter, c: MixtralConfig, dtype: WeightFormat): Record<string, number> {
  const need = largestTensorBytes(c, dtype);
  const DEFAULT_BINDING = 128 * 2 ** 20, DEFAULT_BUFFER = 256 * 2 ** 20;
  return {
    maxStorageBufferBindingSize: Math.min(adapter.limits.maxStorageBufferBindingSize, Math.max(DEFAULT_BINDING, need)),
    maxBufferSize: Math.min(adapter.limits.maxBufferSize, Math.max(DEFAULT_BUFFER, need)),
  };
}

/**
 * The optional features the engine uses, those of them `adapter` has: `subgroups` (the matrix
 * products and experts reduce in registers instead of workgroup memory) and `timestamp-query`
 * (kernel times in `npm run bench`).
 */
export function engineFeatures(adapter: GPUAdapter): GPUFeatureName[] {
  return (['subgroups', 'timestamp-query'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
}

/** A device for the engine from `adapter` (the browser's path; Node's is engine/node-webgpu.ts). */
export async function requestEngineDevice(adapter: GPUAdapter, c: MixtralConfig, dtype: WeightFormat): Promise<GPUDevice> {
  return adapter.requestDevice({ requiredFeatures: engineFeatures(adapter), requiredLimits: requiredLimitsFor(adapter, c, dtype) });
}

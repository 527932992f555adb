// The weights' buffers hold what weight-layout.ts says: for q8 and q4, the q region, then the
// scales (and minimums) as f16, each region 16-byte aligned, exactly what engine/quant/quantize.ts
// computes for the same rows (what the dequantizing kernels read: shaders/lib/weights.wgsl). The
// router's gate and the norms stay f32 in every format.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelDirectory } from '../node.ts';
import { eachTensorSpec, tensorOf } from '../checkpoint/tensor-specs.ts';
import { quantizeRows } from '../quant/quantize.ts';
import { QUANT_GROUP } from '../footprint/formats.ts';
import path from 'node:path';
import { requestNodeDevice, type NodeGpu } from '../../tests/gpu/node-webgpu.ts';
import { noAdapter } from '../../tests/gpu/ci-policy.ts';
import { readBuffer } from './gpu.ts';
import { WeightWriter } from './upload.ts';
import { partLayout } from './weight-layout.ts';

describe('the weight writer', () => {
  let gpu: NodeGpu | { reason: string };
  beforeAll(async () => { gpu = await requestNodeDevice(); });
  afterAll(() => { if (gpu && !('reason' in gpu)) gpu.device.destroy(); });

  it.for(['q8', 'q4'] as const)('%s: each buffer holds the quantized rows, then their scales (and minimums), as quantize.ts computes them', { timeout: 300_000 }, async (format, ctx) => {
    if ('reason' in gpu) return noAdapter('weight writer', gpu.reason, (m) => ctx.skip(m));
    const { device } = gpu;
    const ckpt = await loadModelDirectory(path.resolve(import.meta.dirname, '../../models/mixscope-tiny')); // D 256, F 224: whole groups
    const c = ckpt.config;
    expect(c.hidden_size % QUANT_GROUP).toBe(0);
    const writer = new WeightWriter(device, c, format, 2 ** 30);
    for (const spec of eachTensorSpec(c)) writer.write(spec, tensorOf(ckpt.weights, spec));
    writer.checkComplete();
    const w = writer.weights;
    const bytes = async (b: GPUBuffer) => new Uint8Array(await readBuffer(device, b));
    // q_proj of layer 0 (H*Dh, D), quantized on the CPU the same way.
    const rows = c.num_attention_heads * c.head_dim, cols = c.hidden_size, G = cols / QUANT_GROUP;
    const m = quantizeRows(format, rows, cols, (r, out) => out.set(ckpt.weights.layers[0].q_proj.subarray(r * cols, (r + 1) * cols)));
    const layout = partLayout(format, rows, cols);
    const got = await bytes(w.layers[0].q_proj);
    expect(got.length).toBe(layout.bytes);
    expect(got.subarray(0, layout.valueBytes)).toEqual(m.q);
    expect(new Uint16Array(got.buffer, layout.scaleOffset, rows * G)).toEqual(m.scale);
    if (format === 'q4') expect(new Uint16Array(got.buffer, layout.minOffset, rows * G)).toEqual(m.min);
    // An expert stacked in the layer's buffer: expert 1's w2 (D, F) from row D.
    const F = c.intermediate_size;
    {
      const e1 = quantizeRows(format, c.hidden_size, F, (r, out) => out.set(ckpt.weights.layers[0].experts[1].w2.subarray(r * F, (r + 1) * F)));
      const all = partLayout(format, c.num_local_experts * c.hidden_size, F);
      const stacked = await bytes(w.layers[0].w2[0].buffer);
      expect(stacked.subarray(e1.q.length, 2 * e1.q.length)).toEqual(e1.q);
      expect(new Uint16Array(stacked.buffer, all.scaleOffset + 2 * c.hidden_size * (F / QUANT_GROUP), c.hidden_size * (F / QUANT_GROUP))).toEqual(e1.scale);
    }
    // The router and the norms: f32, as given.
    expect(new Float32Array(await readBuffer(device, w.layers[0].gate))).toEqual(ckpt.weights.layers[0].gate);
    expect(new Float32Array(await readBuffer(device, w.norm))).toEqual(ckpt.weights.norm);
    writer.destroy();
  });
});

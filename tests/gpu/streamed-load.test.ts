// The WebGPU engine loaded from a stream of stored tensors (WebGpuEngine.load over readTensors) is
// the engine made from float32 weights in memory (WebGpuEngine.create): the same buffers, so the
// same logits bit for bit, whatever the stored dtype (F32, F16, BF16) and the format kept (f32,
// f16), also when tensors are split into parts. A stream that ends early fails naming the first
// missing tensor and leaves no buffer behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelDirectory, directorySource } from '../../engine/node.ts';
import { WebGpuEngine } from '../../engine/webgpu/engine.ts';
import { readTensors, type StoredTensor } from '../../engine/checkpoint/tensor-reader.ts';
import { CheckpointError } from '../../engine/errors.ts';
import { meterBuffers } from '../../engine/webgpu/buffer-meter.ts';
import { goldenCases } from '../golden/fixtures.ts';
import { requestNodeDevice, type NodeGpu } from './node-webgpu.ts';
import { noAdapter } from './ci-policy.ts';

// Stored dtype, and the formats kept: halves kept as they are (whole and in parts), BF16 rounded
// to halves, F32 kept. Each engine compiles its kernels (~20 s on a busy SwiftShader): few cases.
const CASES: [string, ['f16' | 'f32', number | undefined][]][] = [
  ['f16-gqa2-e8-k2', [['f16', undefined], ['f16', 4 * 1024]]],
  ['bf16-gqa2-e8-k2-window', [['f16', undefined]]],
  ['f32-gqa4-e6-k3-headdim', [['f32', undefined]]],
];
const SLOW = 600_000;

describe('the WebGPU engine streamed from the files', () => {
  let gpu: NodeGpu | { reason: string };
  beforeAll(async () => { gpu = await requestNodeDevice(); });
  afterAll(() => { if (gpu && !('reason' in gpu)) gpu.device.destroy(); });

  it.for(CASES)('%s: gives the logits of the engine made from float32 weights, exactly (halves kept, BF16 rounded to halves, f32 kept; split into parts)', { timeout: SLOW }, async ([name, formats], ctx) => {
    if ('reason' in gpu) return noAdapter('streamed load', gpu.reason, (m) => ctx.skip(m));
    const { device } = gpu;
    const fixture = goldenCases().find((c) => c.name === name)!;
    const ckpt = await loadModelDirectory(fixture.dir);
    const ids = fixture.expected.ids;
    for (const [weights, maxBindingBytes] of formats) {
      const options = { weights, maxBindingBytes };
      const made = await WebGpuEngine.create(device, ckpt.config, ckpt.weights, options);
      const streamed = await WebGpuEngine.load(device, ckpt.config, readTensors(directorySource(fixture.dir), { config: ckpt.config }), options);
      if (maxBindingBytes) expect(streamed.weights.embed_tokens.length).toBeGreaterThan(1);
      const a = await made.forward(ids, { output: 'all' });
      const b = await streamed.forward(ids, { output: 'all' });
      expect(Array.from(b.logits), `${name} ${weights}${maxBindingBytes ? ' split' : ''}`).toEqual(Array.from(a.logits));
      made.dispose();
      streamed.dispose();
    }
  });

  it('fails naming the first missing tensor when the stream ends early, and keeps no buffer', { timeout: SLOW }, async (ctx) => {
    if ('reason' in gpu) return noAdapter('streamed load', gpu.reason, (m) => ctx.skip(m));
    const fixture = goldenCases().find((c) => c.name === CASES[0][0])!;
    const ckpt = await loadModelDirectory(fixture.dir);
    const { device } = gpu;
    const meter = meterBuffers(device);
    const before = meter.liveBuffers;
    async function* firstFew(): AsyncGenerator<StoredTensor> {
      let n = 0;
      for await (const t of readTensors(directorySource(fixture.dir), { config: ckpt.config })) {
        if (t.name.includes('experts.1.')) continue;
        if (n++ > 1000) return;
        yield t;
      }
    }
    const load = WebGpuEngine.load(device, ckpt.config, firstFew(), { weights: 'f16' });
    await expect(load).rejects.toThrow(CheckpointError);
    await expect(load).rejects.toThrow(/model\.layers\.0\.block_sparse_moe\.experts\.1\.w1\.weight/);
    // The engine's kernels and the weights' buffers are released.
    expect(meter.liveBuffers).toBe(before);
    // q4 rows are whole groups of 32: this fixture's 48-wide expert rows are refused naming the tensor, and nothing is kept.
    await expect(WebGpuEngine.load(device, ckpt.config, firstFew(), { weights: 'q4' })).rejects.toThrow(/experts\.0\.w2\.weight: rows of 48 values cannot be stored as q4/);
    expect(meter.liveBuffers).toBe(before);
  });
});

// Harness smoke test: a real compute shader on Dawn in Node, checked element by element.
import { describe, expect, it } from 'vitest';
import { requestNodeDevice } from './node-webgpu.ts';
import { noAdapter } from './ci-policy.ts';
import { SMOKE_WGSL, runSmokeKernel, smokeInputs } from './smoke-kernel.ts';

describe('WebGPU in Node (Dawn)', () => {
  it('runs a compute shader and its result is exact', async (ctx) => {
    const gpu = await requestNodeDevice();
    if ('reason' in gpu) return noAdapter('Node (Dawn)', gpu.reason, (m) => ctx.skip(m));
    const { info, adapter, device } = gpu;
    console.log(`[webgpu:node] ${info.vendor} / ${info.architecture} / ${info.description}; features: ${[...adapter.features].sort().join(', ')}`);
    const { a, b, expected } = smokeInputs();
    const out = await runSmokeKernel(device, SMOKE_WGSL, a, b);
    expect(out.length).toBe(expected.length);
    let mismatches = 0;
    for (let i = 0; i < out.length; i++) if (out[i] !== expected[i]) mismatches++;
    expect(mismatches).toBe(0);
    device.destroy();
    expect(gpu.gpu).toBeDefined(); // keeps the Dawn instance alive until here
  });
});

// The hook table (engine/hooks/names.ts) is the one source of every hook's shape: whatever an
// engine returns for a hook has exactly the table's shape, on both engines, for every hook point,
// in a prefill and in a decode step over the KV cache (T and S differ). The fixture has 4 query
// heads per key/value head, so hook_k and hook_v (Hkv) differ from hook_q (H).
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { loadModelDirectory } from '../../engine/node.ts';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { WebGpuEngine } from '../../engine/webgpu/engine.ts';
import { hookNames, hookShape } from '../../engine/hooks/names.ts';
import type { Engine } from '../../engine/engine.ts';
import { weightStorageFor } from '../../engine/checkpoint/dtype.ts';
import { goldenCases } from '../golden/fixtures.ts';
import { requestNodeDevice, type NodeGpu } from './node-webgpu.ts';
import { noAdapter } from './ci-policy.ts';

const fixture = goldenCases().find((c) => c.name === 'f32-gqa4-e6-k3-headdim')!;

describe('every hook an engine returns has the hook table\'s shape', () => {
  let gpu: NodeGpu | { reason: string };
  let ckpt: Awaited<ReturnType<typeof loadModelDirectory>>;
  beforeAll(async () => {
    ckpt = await loadModelDirectory(fixture.dir);
    gpu = await requestNodeDevice();
  });
  afterAll(() => { if (gpu && !('reason' in gpu)) gpu.device.destroy(); });

  async function engine(backend: 'cpu' | 'webgpu', ctx: TestContext): Promise<Engine> {
    if (backend === 'cpu') return new CpuEngine(ckpt.config, ckpt.weights);
    if ('reason' in gpu) noAdapter('hook shapes on WebGPU (Dawn)', gpu.reason, (m) => ctx.skip(m));
    return WebGpuEngine.create((gpu as NodeGpu).device, ckpt.config, ckpt.weights, { weights: weightStorageFor(ckpt.dtypeBytes) });
  }

  it.for(['cpu', 'webgpu'] as const)('%s engine: all hooks (*), in a prefill and a decode step', async (backend, ctx) => {
    const c = ckpt.config;
    expect(c.num_key_value_heads).toBeLessThan(c.num_attention_heads);
    const e = await engine(backend, ctx);
    using session = e.createSession();
    const ids = fixture.expected.ids;
    for (const [T, part] of [[ids.length - 1, ids.slice(0, -1)], [1, ids.slice(-1)]] as const) {
      const S = session.position + T;
      const r = await session.forward(part, { hooks: ['*'] });
      expect([...r.hooks.keys()].sort()).toEqual(hookNames(c).sort());
      for (const [name, v] of r.hooks) {
        const shape = hookShape(name, c, T, S);
        expect(v.shape, `${name} T=${T}`).toEqual(shape);
        const n = shape.reduce((a, b) => a * b, 1);
        if ('data' in v) expect(v.data.length, name).toBe(n);
        else expect([v.indices.length, v.weights.length], name).toEqual([n, n]);
      }
    }
    e.dispose();
  });
});

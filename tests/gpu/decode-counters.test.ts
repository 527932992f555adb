// What one decode step of the default model does on the device, counted by the engine (Dawn in
// Node): at most 48 dispatches in at most 2 compute passes, at most 2 copies, one map, and no
// error scope awaited, with no hooks and with every hook observed (they are written in place);
// a step fed the token the GPU picked writes one buffer (the step uniform), one fed from the
// host two. The same counts the bench reports (`counters`).
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { fileURLToPath } from 'node:url';
import { directorySource } from '../../engine/node.ts';
import { loadModel, type Model } from '../../engine/model.ts';
import { WebGpuEngine } from '../../engine/webgpu/engine.ts';
import { countersSince, type Counters } from '../../engine/webgpu/gpu.ts';
import type { GpuSession } from '../../engine/webgpu/session.ts';
import type { ForwardRequest } from '../../engine/engine.ts';
import { requestNodeDevice, type NodeGpu } from './node-webgpu.ts';
import { noAdapter } from './ci-policy.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const STEPS = 4;

describe('a decode step of the default model on WebGPU (Dawn)', () => {
  let gpu: NodeGpu | { reason: string };
  let model: Model;
  const engines: WebGpuEngine[] = [];
  beforeAll(async () => {
    model = await loadModel(directorySource(`${root}models/mixscope-tiny`));
    gpu = await requestNodeDevice();
  });
  afterAll(() => { for (const e of engines) e.dispose(); if (gpu && !('reason' in gpu)) gpu.device.destroy(); });
  async function engine(ctx: TestContext, subgroups: boolean): Promise<WebGpuEngine> {
    if ('reason' in gpu) noAdapter('decode counters (Dawn)', gpu.reason, (m) => ctx.skip(m));
    const e = await WebGpuEngine.create((gpu as NodeGpu).device, model.config, model.weights, { weights: 'f16', subgroups });
    engines.push(e);
    return e;
  }

  /** Counters per step over STEPS warm steps (after two to warm up), fed by the GPU or by the host. */
  async function perStep(e: WebGpuEngine, request: ForwardRequest, picked: boolean): Promise<Counters> {
    const s = e.createSession() as GpuSession;
    await s.forward([1, 5, 9, 14], request);
    for (let i = 0; i < 2; i++) await (picked ? s.forwardPicked(request) : s.forward([20 + i], request));
    const before = { ...e.counters };
    for (let i = 0; i < STEPS; i++) await (picked ? s.forwardPicked(request) : s.forward([30 + i], request));
    const d = countersSince(before, e.counters);
    s.dispose();
    return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v / STEPS])) as unknown as Counters;
  }

  // The workgroup-reduction kernels are slow on SwiftShader (barriers): the two main cases there.
  it.for([true, false])('subgroups %s: no hooks and every hook, at most 48 dispatches, 2 passes, 2 copies, one map, no awaited scope', { timeout: 600_000 }, async (subgroups, ctx) => {
    const e = await engine(ctx, subgroups);
    const cases: [string, ForwardRequest][] = [
      ['no hooks', { output: 'token' }],
      ['every hook', { output: 'token', hooks: ['*'] }],
      ['sampled, 10 candidates', { output: 'token', sample: { temperature: 0.8, topK: 40, topP: 0.95, seed: 3, draw: 0 }, candidates: 10 }],
      ['every hook and the logits', { output: 'last', hooks: ['*'] }],
    ];
    for (const [name, request] of subgroups ? cases : cases.slice(0, 2)) {
      for (const picked of [true, false]) {
        const c = await perStep(e, request, picked);
        console.log(`[webgpu:counters] ${subgroups ? 'subgroup' : 'workgroup-reduction'} kernels, ${name}, fed by the ${picked ? 'GPU' : 'host'}: ${JSON.stringify(c)}`);
        expect(c.dispatches, name).toBeLessThanOrEqual(48);
        expect(c.passes, name).toBeLessThanOrEqual(2);
        expect(c.copies, name).toBeLessThanOrEqual(2);
        expect(c.maps, name).toBe(1);
        expect(c.scopes, name).toBe(0);
        expect(c.writes, name).toBe(picked ? 1 : 2);
      }
    }
  });
});

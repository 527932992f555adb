// The WebGPU engine's structure for real GPUs, against the CPU engine on golden fixtures (Dawn in
// Node): prefill experts grouped by expert, tensors split under the binding limit, greedy argmax
// on the GPU, and decode steps that create no GPU objects once warm.
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { loadModelDirectory } from '../node.ts';
import { CpuEngine } from '../cpu/engine.ts';
import { generate } from '../generate.ts';
import { argmax } from '../sampling.ts';
import type { HookTensor, HookValue } from '../hooks/request.ts';
import type { Intervention } from '../hooks/interventions.ts';
import type { ForwardRequest } from '../engine.ts';
import { requestNodeDevice, type NodeGpu } from '../../tests/gpu/node-webgpu.ts';
import { noAdapter } from '../../tests/gpu/ci-policy.ts';
import { goldenCases } from '../../tests/golden/fixtures.ts';
import { WebGpuEngine } from './engine.ts';
import { weightStorageFor } from '../checkpoint/dtype.ts';
import { maxDiff } from '../../tests/gpu/numbers.ts';

const LOGIT_TOL = 1e-3;

let gpu: NodeGpu | { reason: string };
beforeAll(async () => { gpu = await requestNodeDevice(); });
afterAll(() => { if (gpu && !('reason' in gpu)) gpu.device.destroy(); });
const device = (ctx: TestContext): GPUDevice => {
  if ('reason' in gpu) noAdapter('WebGPU engine (Dawn)', gpu.reason, (m) => ctx.skip(m));
  return (gpu as NodeGpu).device;
};

const fixture = (name: string) => goldenCases().find((c) => c.name === name)!;
const load = async (name: string) => {
  const ckpt = await loadModelDirectory(fixture(name).dir);
  const dtype = weightStorageFor(ckpt.dtypeBytes);
  return { ckpt, dtype, cpu: new CpuEngine(ckpt.config, ckpt.weights) };
};

describe('prefill experts grouped by expert on the GPU', () => {
  it.for(['f16-gqa2-e8-k2', 'f32-gqa4-e6-k3-headdim'])('match the CPU engine for 64 tokens on %s, also with every token on the same experts', async (name, ctx) => {
    const d = device(ctx);
    const { ckpt, dtype, cpu } = await load(name);
    const c = ckpt.config;
    const g = await WebGpuEngine.create(d, c, ckpt.weights, { weights: dtype });
    const ids = Array.from({ length: 64 }, (_, i) => 3 + ((i * 37) % (c.vocab_size - 3)));
    const forced: Intervention[] = Array.from({ length: c.num_hidden_layers }, (_, layer) => ({
      kind: 'force_experts', layer, experts: Array.from({ length: c.num_experts_per_tok }, (_, k) => k),
    }));
    for (const interventions of [[], forced]) {
      const req = { output: 'all' as const, interventions, hooks: ['blocks.*.moe.hook_expert_out', 'blocks.*.hook_mlp_out'] };
      const [a, b] = await Promise.all([g.forward(ids, req), cpu.forward(ids, req)]);
      const err = maxDiff(a.logits, b.logits);
      console.log(`[webgpu:grouped] ${name} T=64 ${interventions.length ? 'forced' : 'routed'}: max |logit diff| ${err.toExponential(2)}`);
      expect(err).toBeLessThanOrEqual(LOGIT_TOL);
      for (const [hook, v] of b.hooks) expect(maxDiff((a.hooks.get(hook) as HookTensor).data, (v as HookTensor).data), hook).toBeLessThanOrEqual(1e-3);
    }
    g.dispose();
  });
});

describe('tensors larger than one binding', () => {
  it.for(['f16-gqa2-e8-k2', 'f32-gqa2-e4-k2-window'])('are split into parts and still match the CPU engine on %s', async (name, ctx) => {
    const d = device(ctx);
    const { ckpt, dtype, cpu } = await load(name);
    const c = ckpt.config;
    const bytes = dtype === 'f16' ? 2 : 4;
    // One expert's matrix fits, two do not; the (V, D) tables need several parts.
    const limit = c.intermediate_size * c.hidden_size * bytes + 100;
    const g = await WebGpuEngine.create(d, c, ckpt.weights, { weights: dtype, maxBindingBytes: limit });
    expect(g.weights.embed_tokens.length).toBeGreaterThan(1);
    expect(g.weights.lm_head.length).toBeGreaterThan(1);
    expect(g.weights.layers[0].w1.length).toBe(c.num_local_experts);
    const { expected } = fixture(name);
    const [a, b] = await Promise.all([g.forward(expected.ids, { output: 'all' }), cpu.forward(expected.ids, { output: 'all' })]);
    const err = maxDiff(a.logits, b.logits);
    console.log(`[webgpu:split] ${name}: ${g.weights.embed_tokens.length} embedding parts, max |logit diff| ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(LOGIT_TOL);
    const tokens: number[] = [];
    for await (const s of generate({ engine: g, prompt: expected.greedy.prompt }, { maxTokens: expected.greedy.tokens.length, temperature: 0, stopAtEos: false })) tokens.push(s.token);
    expect(tokens).toEqual(expected.greedy.tokens);
    g.dispose();
  });

  it('give a clear error naming the tensor, its size and the limit when a part cannot fit', async (ctx) => {
    const d = device(ctx);
    const { ckpt } = await load('f32-gqa2-e4-k2-window');
    const D = ckpt.config.hidden_size;
    await expect(WebGpuEngine.create(d, ckpt.config, ckpt.weights, { weights: 'f32', maxBindingBytes: 4 * D - 1 }))
      .rejects.toThrow(new RegExp(`embed_tokens: one row is ${4 * D} bytes but this device binds at most ${4 * D - 1} bytes`));
    await expect(WebGpuEngine.create(d, ckpt.config, ckpt.weights, { weights: 'f32', maxBindingBytes: 8 * D }))
      .rejects.toThrow(new RegExp(`layer 0 q_proj: \\d+ bytes exceeds this device's ${8 * D}-byte limit`));
  });
});

describe('greedy decoding on the GPU', () => {
  it('reads back only the token, which is the CPU engine\'s greedy choice', async (ctx) => {
    const d = device(ctx);
    const { ckpt, dtype, cpu } = await load('f16-gqa2-e8-k2');
    const g = await WebGpuEngine.create(d, ckpt.config, ckpt.weights, { weights: dtype });
    const { expected } = fixture('f16-gqa2-e8-k2');
    const gs = g.createSession(), cs = cpu.createSession();
    let ids = expected.greedy.prompt;
    for (let i = 0; i < 4; i++) {
      const [a, b] = await Promise.all([gs.forward(ids, { hooks: ['blocks.0.moe.hook_expert_choice'], output: 'argmax' }), cs.forward(ids, { hooks: ['blocks.0.moe.hook_expert_choice'] })]);
      expect(a.token).toBe(argmax(b.logits));
      expect(a.hooks.get('blocks.0.moe.hook_expert_choice')).toBeDefined();
      ids = [a.token];
    }
    gs.dispose();
    const opts = { maxTokens: 3, temperature: 0, stopAtEos: false };
    const quiet = [], full = [], reference = [];
    for await (const s of generate({ engine: g, prompt: expected.greedy.prompt }, opts)) quiet.push(s);
    for await (const s of generate({ engine: g, prompt: expected.greedy.prompt }, { ...opts, logits: true })) full.push(s);
    for await (const s of generate({ engine: cpu, prompt: expected.greedy.prompt }, opts)) reference.push(s);
    expect(quiet.map((s) => s.token)).toEqual(reference.map((s) => s.token));
    expect(full.map((s) => s.token)).toEqual(reference.map((s) => s.token));
    expect(quiet.every((s) => s.logits.length === 0)).toBe(true);
    expect(full.every((s) => s.logits.length === ckpt.config.vocab_size)).toBe(true);
    expect(reference.every((s) => s.logits.length === ckpt.config.vocab_size)).toBe(true);
    g.dispose();
  });
});

describe('one session, requests that change from step to step', () => {
  it('greedy, sampled, with candidates and greedy again give the CPU engine\'s tokens (each kernel variant keeps its own bind groups)', async (ctx) => {
    const d = device(ctx);
    const { ckpt, dtype, cpu } = await load('f16-gqa2-e8-k2');
    const g = await WebGpuEngine.create(d, ckpt.config, ckpt.weights, { weights: dtype });
    const { expected } = fixture('f16-gqa2-e8-k2');
    const sample = (draw: number) => ({ temperature: 0.9, topK: 20, seed: 4, draw });
    const steps: ForwardRequest[] = [
      { output: 'token' }, { output: 'token', sample: sample(1) }, { output: 'token', sample: sample(2), candidates: 5 }, { output: 'token' },
      { output: 'last', sample: sample(4) }, { output: 'token', hooks: ['*'] },
    ];
    const gs = g.createSession(), cs = cpu.createSession();
    let ids = expected.greedy.prompt;
    for (const [i, request] of steps.entries()) {
      const [a, b] = await Promise.all([gs.forward(ids, request), cs.forward(ids, request)]);
      expect(a.token, `step ${i}`).toBe(b.token);
      expect(a.candidates?.ids, `step ${i}`).toEqual(b.candidates?.ids);
      ids = [a.token];
    }
    gs.dispose(); cs.dispose();
    g.dispose();
  });
});

describe('a steady-state decode step', () => {
  it('creates no buffers and no bind groups, with or without hooks', async (ctx) => {
    const d = device(ctx);
    const { ckpt, dtype } = await load('f16-gqa2-e8-k2');
    const g = await WebGpuEngine.create(d, ckpt.config, ckpt.weights, { weights: dtype });
    const created = { buffers: 0, bindGroups: 0 };
    const createBuffer = d.createBuffer, createBindGroup = d.createBindGroup;
    d.createBuffer = (desc) => { created.buffers++; return createBuffer.call(d, desc); };
    d.createBindGroup = (desc) => { created.bindGroups++; return createBindGroup.call(d, desc); };
    try {
      for (const hooks of [[], ['blocks.*.moe.hook_expert_choice', 'hook_logits']]) {
        const s = g.createSession();
        await s.forward(fixture('f16-gqa2-e8-k2').expected.ids, { hooks });
        await s.forward([5], { hooks });
        await s.forward([6], { hooks, output: 'argmax' });
        created.buffers = 0; created.bindGroups = 0;
        for (let i = 0; i < 4; i++) await s.forward([7 + i], { hooks });
        for (let i = 0; i < 4; i++) await s.forward([11 + i], { hooks, output: 'argmax' });
        expect(created, `hooks ${JSON.stringify(hooks)}`).toEqual({ buffers: 0, bindGroups: 0 });
        s.dispose();
      }
    } finally {
      d.createBuffer = createBuffer;
      d.createBindGroup = createBindGroup;
      g.dispose();
    }
  });
});

describe('sessions that end', () => {
  it('leave no GPU buffer behind, whatever they ran; the engine leaves none once disposed', async (ctx) => {
    const d = device(ctx);
    const { ckpt, dtype } = await load('f16-gqa2-e8-k2');
    // Live buffers: every one created, until destroyed.
    const live = new Map<GPUBuffer, number>();
    const createBuffer = d.createBuffer;
    d.createBuffer = (desc) => {
      const b = createBuffer.call(d, desc);
      const destroy = b.destroy.bind(b);
      live.set(b, desc.size);
      b.destroy = () => { live.delete(b); destroy(); };
      return b;
    };
    const bytes = () => [...live.values()].reduce((a, b) => a + b, 0);
    try {
      const g = await WebGpuEngine.create(d, ckpt.config, ckpt.weights, { weights: dtype });
      const weights = bytes();
      const ids = fixture('f16-gqa2-e8-k2').expected.ids;
      const half = (v: HookValue) => ({ shape: v.shape, data: (v as HookTensor).data.map((x) => x * 0.5) });
      for (let i = 0; i < 6; i++) {
        const s = g.createSession();
        await s.forward(ids, { hooks: { observe: ['*'], fns: { 'blocks.0.hook_resid_mid': half } } });
        await s.forward([5], { output: 'argmax', interventions: [{ kind: 'zero_head', layer: 0, head: i % 2 }] });
        if (i % 2) await expect(s.forward([99999])).rejects.toThrow(/outside the vocabulary/);
        s.dispose();
        expect(bytes(), `after session ${i}`).toBe(weights);
      }
      g.createSession(); // left open: the engine releases it
      g.dispose();
      expect(bytes()).toBe(0);
    } finally {
      d.createBuffer = createBuffer;
    }
  });
});

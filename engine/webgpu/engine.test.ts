// The WebGPU engine against the CPU reference engine on every golden fixture (Dawn in Node):
// logits, every hook, interventions, KV-cache decoding and greedy generation.
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { loadModelDirectory } from '../node.ts';
import { CpuEngine } from '../cpu/engine.ts';
import { generate } from '../generate.ts';
import type { ExpertChoice, HookTensor, HookValue } from '../hooks/request.ts';
import type { Intervention } from '../hooks/interventions.ts';
import { requestNodeDevice, type NodeGpu } from '../../tests/gpu/node-webgpu.ts';
import { noAdapter, noSubgroups } from '../../tests/gpu/ci-policy.ts';
import { goldenCases } from '../../tests/golden/fixtures.ts';
import { WebGpuEngine, lossBehind } from './engine.ts';
import { DeviceLostError } from './gpu.ts';
import { weightStorageFor } from '../checkpoint/dtype.ts';
import { maxDiff } from '../../tests/gpu/numbers.ts';

const LOGIT_TOL = 1e-3;
const worst: Record<string, number> = {};

function compareHook(name: string, gpu: HookValue | undefined, cpu: HookValue): void {
  expect(gpu, name).toBeDefined();
  expect(gpu!.shape, name).toEqual(cpu.shape);
  if ('data' in cpu) expect(maxDiff((gpu as HookTensor).data, cpu.data), name).toBeLessThanOrEqual(1e-3);
  else {
    expect(Array.from((gpu as ExpertChoice).indices), name).toEqual(Array.from(cpu.indices));
    expect(maxDiff((gpu as ExpertChoice).weights, cpu.weights), name).toBeLessThanOrEqual(1e-4);
  }
}

let gpu: NodeGpu | { reason: string };
beforeAll(async () => { gpu = await requestNodeDevice(); });
afterAll(() => {
  console.log(`[webgpu:golden] largest |logit diff| vs CPU per fixture: ${JSON.stringify(worst)}`);
  if (gpu && !('reason' in gpu)) gpu.device.destroy();
});
const device = (ctx: TestContext): GPUDevice => {
  if ('reason' in gpu) noAdapter('WebGPU engine (Dawn)', gpu.reason, (m) => ctx.skip(m));
  return (gpu as NodeGpu).device;
};

// Every fixture on both kernel sets: the subgroup kernels (where the adapter has `subgroups`, as
// SwiftShader does) and the workgroup-reduction kernels that adapters without them run.
const kernelSets = [{ set: 'subgroup kernels', subgroups: true }, { set: 'workgroup-reduction kernels', subgroups: false }];
describe.each(goldenCases().flatMap((c) => kernelSets.map((k) => ({ ...c, ...k }))))('WebGPU engine matches the CPU engine on $name ($set)', ({ name, dir, expected, set, subgroups }) => {
  let cpu: CpuEngine;
  let ckpt: Awaited<ReturnType<typeof loadModelDirectory>>;
  const engines = new Map<GPUDevice, WebGpuEngine>();
  beforeAll(async () => { ckpt = await loadModelDirectory(dir); cpu = new CpuEngine(ckpt.config, ckpt.weights); });
  afterAll(() => { for (const e of engines.values()) e.dispose(); });
  async function engine(ctx: TestContext): Promise<WebGpuEngine> {
    const d = device(ctx);
    if (!engines.has(d)) {
      // F16 checkpoints keep packed halves on the GPU (exact); others stay f32.
      const dtype = weightStorageFor(ckpt.dtypeBytes);
      engines.set(d, await WebGpuEngine.create(d, ckpt.config, ckpt.weights, { weights: dtype, subgroups }));
    }
    const e = engines.get(d)!;
    if (subgroups && !e.kernels.subgroups) noSubgroups(`WebGPU engine (Dawn, ${set})`, (m) => ctx.skip(m));
    if (!subgroups) expect(e.kernels.subgroups).toBeNull();
    return e;
  }
  const ids = expected.ids;

  it('logits of every position and every hook match', async (ctx) => {
    const g = await engine(ctx);
    const [a, b] = await Promise.all([g.forward(ids, { output: 'all', hooks: ['*'] }), cpu.forward(ids, { output: 'all', hooks: ['*'] })]);
    const err = maxDiff(a.logits, b.logits);
    const key = subgroups ? name : `${name} (workgroup reduction)`;
    worst[key] = Math.max(worst[key] ?? 0, err);
    expect(err).toBeLessThanOrEqual(LOGIT_TOL);
    expect([...a.hooks.keys()].sort()).toEqual([...b.hooks.keys()].sort());
    for (const [hook, v] of b.hooks) compareHook(hook, a.hooks.get(hook), v);
  });

  it('decoding with the GPU KV cache equals the full forward', async (ctx) => {
    const g = await engine(ctx);
    const full = await cpu.forward(ids, { output: 'all' });
    const V = ckpt.config.vocab_size;
    const s = g.createSession();
    await s.forward(ids.slice(0, 3));
    for (let t = 3; t < ids.length; t++) {
      const r = await s.forward([ids[t]], { hooks: ['blocks.0.attn.hook_pattern'] });
      expect((r.hooks.get('blocks.0.attn.hook_pattern') as HookTensor).shape).toEqual([ckpt.config.num_attention_heads, 1, t + 1]);
      expect(maxDiff(r.logits, full.logits.subarray(t * V, (t + 1) * V))).toBeLessThanOrEqual(LOGIT_TOL);
    }
  });

  it('greedy generation gives the reference continuation', async (ctx) => {
    const g = await engine(ctx);
    const tokens: number[] = [];
    for await (const step of generate({ engine: g, prompt: expected.greedy.prompt }, { maxTokens: expected.greedy.tokens.length, temperature: 0, stopAtEos: false })) tokens.push(step.token);
    expect(tokens).toEqual(expected.greedy.tokens);
  });

  it('interventions run on the GPU and match the CPU engine', async (ctx) => {
    const g = await engine(ctx);
    const c = ckpt.config;
    const L = c.num_hidden_layers;
    const list: Intervention[][] = [
      [{ kind: 'ablate_experts', layer: 0, experts: [0] }],
      [{ kind: 'router_bias', layer: L - 1, bias: Array.from({ length: c.num_local_experts }, (_, e) => (e === 1 ? 3 : 0)) }],
      [{ kind: 'zero_head', layer: 0, head: c.num_attention_heads - 1 }],
      [{ kind: 'force_experts', layer: L - 1, experts: Array.from({ length: c.num_experts_per_tok }, (_, i) => c.num_local_experts - 1 - i), positions: [1, 2] }],
    ];
    for (const interventions of list) {
      const req = { output: 'all' as const, interventions, hooks: ['blocks.*.moe.hook_expert_choice'] };
      const [a, b] = await Promise.all([g.forward(ids, req), cpu.forward(ids, req)]);
      expect(maxDiff(a.logits, b.logits), interventions[0].kind).toBeLessThanOrEqual(LOGIT_TOL);
      for (const [hook, v] of b.hooks) compareHook(hook, a.hooks.get(hook), v);
    }
  });

  it('a function hook can replace a tensor on the GPU, at the cost of a sync', async (ctx) => {
    const g = await engine(ctx);
    const fns = { 'blocks.0.hook_resid_mid': (v: HookValue) => ({ shape: v.shape, data: (v as HookTensor).data.map((x) => x * 0.5) }) };
    const [a, b] = await Promise.all([g.forward(ids, { hooks: { fns } }), cpu.forward(ids, { hooks: { fns } })]);
    expect(maxDiff(a.logits, b.logits)).toBeLessThanOrEqual(LOGIT_TOL);
  });
});

// A replaced value at a fused kernel's input must reach everything after it: the KV cache (k, v,
// seen by the next call), the attention's weighted sum (pattern), the residual adds (attn_out,
// mlp_out), the router's tail (logits, probs), the experts (choice), lm_head (the final norm).
// Activation patching (issue 13) goes through the same hook points.
describe('function hooks at fused kernels\' inputs rerun what they feed, as on the CPU', () => {
  const scale = (f: number) => (v: HookValue) => ({ shape: v.shape, data: (v as HookTensor).data.map((x) => x * f) });
  const cases: [string, (v: HookValue) => HookValue][] = [
    ['blocks.0.attn.hook_k', scale(0.7)], ['blocks.1.attn.hook_v', scale(1.3)], ['blocks.1.attn.hook_pattern', scale(0.5)],
    ['blocks.0.hook_attn_out', scale(2)], ['blocks.1.hook_mlp_out', scale(-1)], ['ln_final.hook_normalized', scale(0.5)],
    ['blocks.1.moe.hook_router_logits', (v) => ({ shape: v.shape, data: (v as HookTensor).data.map((x, i) => x + (i % 3)) })],
    ['blocks.0.moe.hook_router_probs', (v) => ({ shape: v.shape, data: (v as HookTensor).data.map((x, i) => (i % v.shape[1] === 1 ? x + 0.5 : x)) })],
    ['blocks.0.moe.hook_expert_choice', (v) => {
      const c = v as ExpertChoice, E = 4;
      return { shape: c.shape, indices: c.indices.map((e) => (e + 1) % E), weights: c.weights.map((w, i) => (i % 2 ? 0.25 : 0.75)) };
    }],
  ];
  it.for(cases)('%s, in a prefill and the decode step after it', { timeout: 300_000 }, async ([hook, fn], ctx) => {
    const d = device(ctx);
    const c = goldenCases().find((g) => g.name === 'f32-gqa2-e4-k2-window')!;
    const ckpt = await loadModelDirectory(c.dir);
    expect(ckpt.config.num_local_experts).toBe(4);
    const cpu = new CpuEngine(ckpt.config, ckpt.weights);
    const g = await WebGpuEngine.create(d, ckpt.config, ckpt.weights);
    const ids = c.expected.ids;
    const run = async (e: CpuEngine | WebGpuEngine) => {
      using s = e.createSession();
      const a = await s.forward(ids.slice(0, -1), { output: 'all', hooks: { fns: { [hook]: fn } } });
      const b = await s.forward(ids.slice(-1));
      return [a.logits, b.logits];
    };
    const [ga, gb] = await run(g), [ca, cb] = await run(cpu);
    expect(maxDiff(ga, ca), 'prefill').toBeLessThanOrEqual(LOGIT_TOL);
    expect(maxDiff(gb, cb), 'decode after it').toBeLessThanOrEqual(LOGIT_TOL);
    // The hook changed something: its prefill logits differ from an unhooked run's.
    expect(maxDiff(ca, (await cpu.forward(ids.slice(0, -1), { output: 'all' })).logits)).toBeGreaterThan(1e-4);
    g.dispose();
  });
});

describe('the f16 KV cache', () => {
  it('decodes within 1e-2 of the CPU engine, with the same greedy tokens', async (ctx) => {
    const d = device(ctx);
    const c = goldenCases().find((g) => g.name === 'f16-gqa2-e8-k2')!;
    const ckpt = await loadModelDirectory(c.dir);
    const cpu = new CpuEngine(ckpt.config, ckpt.weights);
    const half = await WebGpuEngine.create(d, ckpt.config, ckpt.weights, { weights: 'f16', kvCache: 'f16' });
    expect(half.kernels.f16KV).toBe(true);
    const ids = c.expected.ids, V = ckpt.config.vocab_size;
    const full = await cpu.forward(ids, { output: 'all' });
    const s = half.createSession();
    const first = await s.forward(ids.slice(0, 3), { output: 'all' });
    let err = maxDiff(first.logits, full.logits.subarray(0, 3 * V));
    for (let t = 3; t < ids.length; t++) err = Math.max(err, maxDiff((await s.forward([ids[t]])).logits, full.logits.subarray(t * V, (t + 1) * V)));
    s.dispose();
    console.log(`[webgpu:f16-kv] largest |logit diff| vs CPU: ${err.toExponential(2)}`);
    // k and v rounded to halves (11 bits): the error is f16's, not f32's.
    expect(err).toBeLessThanOrEqual(1e-2);
    const tokens: number[] = [];
    for await (const step of generate({ engine: half, prompt: c.expected.greedy.prompt }, { maxTokens: c.expected.greedy.tokens.length, temperature: 0, stopAtEos: false })) tokens.push(step.token);
    expect(tokens).toEqual(c.expected.greedy.tokens);
    half.dispose();
  });
});

describe('a lost device', () => {
  it('gives a clear error, and a new engine on a new device works without restarting', async (ctx) => {
    device(ctx);
    const { requestNodeGpuDevice } = await import('../node-webgpu.ts');
    const c = goldenCases()[0];
    const ckpt = await loadModelDirectory(c.dir);
    const first = await requestNodeGpuDevice(ckpt.config, 'f32');
    const engine = await WebGpuEngine.create(first.device, ckpt.config, ckpt.weights);
    await engine.forward(c.expected.ids);
    first.device.destroy();
    await first.device.lost;
    await expect(engine.forward(c.expected.ids)).rejects.toThrow(/WebGPU device was lost .*create the engine again, or fall back to the CPU engine/);
    await expect(engine.forward(c.expected.ids)).rejects.toBeInstanceOf(DeviceLostError);
    const second = await requestNodeGpuDevice(ckpt.config, 'f32');
    const again = await WebGpuEngine.create(second.device, ckpt.config, ckpt.weights);
    const r = await again.forward(c.expected.ids, { output: 'all' });
    expect(maxDiff(r.logits, c.expected.logits.flat())).toBeLessThanOrEqual(1e-3);
    again.dispose();
    second.device.destroy();
  });
});

describe('a device lost during a call', () => {
  it('ends the call in flight, and every later one, with DeviceLostError', async (ctx) => {
    device(ctx);
    const { requestNodeGpuDevice } = await import('../node-webgpu.ts');
    const c = goldenCases().find((g) => g.name === 'f16-gqa2-e8-k2')!;
    const ckpt = await loadModelDirectory(c.dir);
    const { device: d } = await requestNodeGpuDevice(ckpt.config, 'f16');
    const engine = await WebGpuEngine.create(d, ckpt.config, ckpt.weights, { weights: 'f16' });
    const opened = engine.createSession();
    await opened.forward(c.expected.ids.slice(0, 2));
    const ids = Array.from({ length: 64 }, (_, i) => 3 + i);
    const inFlight = engine.forward(ids, { hooks: ['*'] });
    d.destroy();
    await expect(inFlight).rejects.toBeInstanceOf(DeviceLostError);
    await expect(opened.forward([5])).rejects.toBeInstanceOf(DeviceLostError);
    expect(() => engine.createSession()).toThrow(DeviceLostError);
    opened.dispose();
    engine.dispose();
  });

  it('a map aborted before the loss is reported still counts as the loss, within a grace period', async () => {
    const abort = new DOMException('mapAsync aborted', 'AbortError');
    const later = new Promise<GPUDeviceLostInfo>((resolve) => setTimeout(() => resolve({ reason: 'unknown', message: 'GPU process gone' } as GPUDeviceLostInfo), 50));
    const lost = await lossBehind(abort, later);
    expect(lost).toBeInstanceOf(DeviceLostError);
    expect(lost?.message).toMatch(/WebGPU device was lost \(unknown: GPU process gone\)/);
    expect(await lossBehind(new Error('validation'), later)).toBeNull();
    expect(await lossBehind(abort, new Promise<GPUDeviceLostInfo>(() => {}), 20)).toBeNull();
  });
});

describe('profiling', () => {
  it('times every kernel with timestamp queries where the adapter has them', async (ctx) => {
    device(ctx);
    const { requestNodeGpuDevice } = await import('../node-webgpu.ts');
    const c = goldenCases()[0];
    const ckpt = await loadModelDirectory(c.dir);
    const { device: d } = await requestNodeGpuDevice(ckpt.config, 'f32');
    const engine = await WebGpuEngine.create(d, ckpt.config, ckpt.weights, { profile: true });
    if (!engine.profile) return ctx.skip('this adapter has no timestamp-query');
    await engine.forward(c.expected.ids);
    const times = engine.lastKernelTimes!;
    // Keyed by kernel (shader); RMSNorm is folded into qkv, the router and lm_head's linear.
    const families = Object.keys(times).map((name) => name.replace(/_subgroup$/, ''));
    expect(families).toEqual(expect.arrayContaining(['embed', 'qkv', 'attention', 'linear', 'router', 'moe_gate_up_grouped', 'moe_down_grouped', 'sample']));
    for (const v of Object.values(times)) expect(v).toBeGreaterThanOrEqual(0);
    engine.dispose();
    d.destroy();
  });
});

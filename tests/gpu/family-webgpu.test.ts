// The WebGPU engine on every family beside Mixtral (Dawn in Node), with both kernel sets: the
// logits of every golden fixture of tests/fixtures/golden/<model_type>/ within 1e-3 of the
// PyTorch reference with identical expert choices, every hook within 1e-3 of the CPU engine, KV-cache
// decoding, greedy generation, the fixtures' interventions, and function hooks at the families'
// own hook points (q/k after their norms, the shared expert and its gate) matching the CPU engine.
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { loadModelDirectory } from '../../engine/node.ts';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { generate } from '../../engine/generate.ts';
import { isMoeLayer } from '../../engine/family.ts';
import type { ExpertChoice, HookTensor, HookValue } from '../../engine/hooks/request.ts';
import type { Intervention } from '../../engine/hooks/interventions.ts';
import { WebGpuEngine } from '../../engine/webgpu/engine.ts';
import { weightStorageFor } from '../../engine/checkpoint/dtype.ts';
import { requestNodeDevice, type NodeGpu } from './node-webgpu.ts';
import { noAdapter, noSubgroups } from './ci-policy.ts';
import { familyGoldenCases, maxAbsDiff, type FamilyGoldenIntervention } from '../golden/fixtures.ts';
import { maxDiff } from './numbers.ts';

const TOL = 1e-3;
/** SwiftShader emulates the GPU on the CPU: a forward with every hook of 128 experts takes a while. */
const SLOW = { timeout: 600_000 };
/** Largest |logit - reference| per fixture and kernel set, printed at the end (the README's figures). */
const worst: Record<string, number> = {};

function compareHook(name: string, gpu: HookValue | undefined, cpu: HookValue): void {
  expect(gpu, name).toBeDefined();
  expect(gpu!.shape, name).toEqual(cpu.shape);
  if ('data' in cpu) expect(maxDiff((gpu as HookTensor).data, cpu.data), name).toBeLessThanOrEqual(TOL);
  else {
    expect(Array.from((gpu as ExpertChoice).indices), name).toEqual(Array.from(cpu.indices));
    expect(maxDiff((gpu as ExpertChoice).weights, cpu.weights), name).toBeLessThanOrEqual(1e-4);
  }
}

function toIntervention(g: FamilyGoldenIntervention): Intervention {
  if (g.kind === 'ablate') return { kind: 'ablate_experts', layer: g.layer, experts: g.experts! };
  if (g.kind === 'router_bias') return { kind: 'router_bias', layer: g.layer, bias: g.bias! };
  if (g.kind === 'force') return { kind: 'force_experts', layer: g.layer, experts: g.experts!, positions: g.positions, ...(g.weights ? { weights: g.weights } : {}) };
  return { kind: 'zero_head', layer: g.layer, head: g.head! };
}

let gpu: NodeGpu | { reason: string };
beforeAll(async () => { gpu = await requestNodeDevice(); });
afterAll(() => {
  console.log(`[webgpu:families] largest |logit diff| vs the reference per fixture: ${JSON.stringify(worst)}`);
  if (gpu && !('reason' in gpu)) gpu.device.destroy();
});
const device = (ctx: TestContext): GPUDevice => {
  if ('reason' in gpu) noAdapter('WebGPU engine on the families (Dawn)', gpu.reason, (m) => ctx.skip(m));
  return (gpu as NodeGpu).device;
};

const cases = familyGoldenCases();
const kernelSets = [{ set: 'subgroup kernels', subgroups: true }, { set: 'workgroup-reduction kernels', subgroups: false }];

describe('family fixtures for WebGPU parity', () => {
  it('finds three cases of each family', () => {
    for (const f of ['olmoe', 'qwen2_moe', 'qwen3_moe', 'granitemoe']) expect(cases.filter((c) => c.name.startsWith(`${f}/`)).length, f).toBe(3);
  });
});

describe.each(cases.flatMap((c) => kernelSets.map((k) => ({ ...c, ...k }))))('WebGPU engine matches the reference and the CPU engine on $name ($set)', ({ name, dir, expected, set, subgroups }) => {
  let cpu: CpuEngine;
  let ckpt: Awaited<ReturnType<typeof loadModelDirectory>>;
  let made: WebGpuEngine | null = null;
  const ids = expected.ids, T = ids.length;
  const sparse = expected.moe_layers.flatMap((s, l) => (s ? [l] : []));
  beforeAll(async () => { ckpt = await loadModelDirectory(dir); cpu = new CpuEngine(ckpt.config, ckpt.weights); });
  afterAll(() => made?.dispose());
  async function engine(ctx: TestContext): Promise<WebGpuEngine> {
    const d = device(ctx);
    // F16 checkpoints keep packed halves on the GPU (exact); others stay f32.
    made ??= await WebGpuEngine.create(d, ckpt.config, ckpt.weights, { weights: weightStorageFor(ckpt.dtypeBytes), subgroups });
    if (subgroups && !made.kernels.subgroups) noSubgroups(`WebGPU engine (Dawn, ${set})`, (m) => ctx.skip(m));
    if (!subgroups) expect(made.kernels.subgroups).toBeNull();
    return made;
  }
  const note = (err: number) => { const key = `${name}${subgroups ? '' : ' (workgroup reduction)'}`; worst[key] = Math.max(worst[key] ?? 0, err); return err; };

  it('logits within 1e-3 of the reference with identical expert choices; every hook matches the CPU engine', SLOW, async (ctx) => {
    const g = await engine(ctx);
    const [a, b] = await Promise.all([g.forward(ids, { output: 'all', hooks: ['*'] }), cpu.forward(ids, { output: 'all', hooks: ['*'] })]);
    expect(note(maxAbsDiff(a.logits, expected.logits))).toBeLessThanOrEqual(TOL);
    for (const l of sparse) {
      const choice = a.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice;
      expect(Array.from(choice.indices), `layer ${l}`).toEqual(expected.experts[l]!.flat());
      expect(maxAbsDiff(choice.weights, expected.expert_weights[l])).toBeLessThanOrEqual(1e-4);
    }
    expect([...a.hooks.keys()].sort()).toEqual([...b.hooks.keys()].sort());
    for (const [hook, v] of b.hooks) compareHook(hook, a.hooks.get(hook), v);
  });

  it('decoding with the GPU KV cache equals the reference', SLOW, async (ctx) => {
    const g = await engine(ctx);
    const V = ckpt.config.vocab_size, split = Math.floor(T / 2);
    using s = g.createSession();
    const first = await s.forward(ids.slice(0, split), { output: 'all' });
    expect(note(maxAbsDiff(first.logits, expected.logits.slice(0, split)))).toBeLessThanOrEqual(TOL);
    for (let t = split; t < T; t++) {
      const r = await s.forward([ids[t]]);
      expect(r.logits.length).toBe(V);
      expect(note(maxAbsDiff(r.logits, expected.logits[t]))).toBeLessThanOrEqual(TOL);
    }
  });

  it('greedy generation gives the reference continuation', SLOW, async (ctx) => {
    const g = await engine(ctx);
    const tokens: number[] = [];
    for await (const step of generate({ engine: g, prompt: expected.greedy.prompt }, { maxTokens: expected.greedy.tokens.length, temperature: 0, stopAtEos: false })) tokens.push(step.token);
    expect(tokens).toEqual(expected.greedy.tokens);
  });

  it('interventions (ablate, router bias, zero a head, force) run on the GPU as on the CPU engine and the reference', SLOW, async (ctx) => {
    const g = await engine(ctx);
    const c = ckpt.config, last = sparse.at(-1)!;
    const list: Intervention[] = [
      { kind: 'ablate_experts', layer: sparse[0], experts: [0] },
      { kind: 'router_bias', layer: last, bias: Array.from({ length: c.num_local_experts }, (_, e) => (e === 1 ? 3 : 0)) },
      { kind: 'zero_head', layer: 0, head: c.num_attention_heads - 1 },
      { kind: 'force_experts', layer: last, experts: Array.from({ length: c.num_experts_per_tok }, (_, i) => c.num_local_experts - 1 - i), positions: [1, 2] },
      { kind: 'force_experts', layer: sparse[0], experts: Array.from({ length: c.num_experts_per_tok }, (_, i) => i), weights: Array.from({ length: c.num_experts_per_tok }, (_, i) => 0.1 * (i + 1)) },
    ];
    for (const iv of list) {
      const req = { output: 'all' as const, interventions: [iv], hooks: ['blocks.*.moe.hook_expert_choice'] };
      const [a, b] = await Promise.all([g.forward(ids, req), cpu.forward(ids, req)]);
      expect(maxDiff(a.logits, b.logits), iv.kind).toBeLessThanOrEqual(TOL);
      for (const [hook, v] of b.hooks) compareHook(`${iv.kind}: ${hook}`, a.hooks.get(hook), v);
    }
    for (const gi of expected.interventions ?? []) {
      const r = await g.forward(ids, { output: 'all', interventions: [toIntervention(gi)], hooks: ['blocks.*.moe.hook_expert_choice'] });
      expect(note(maxAbsDiff(r.logits, gi.logits)), `${gi.kind} layer ${gi.layer}`).toBeLessThanOrEqual(TOL);
      for (const l of sparse) {
        if (!gi.experts_chosen?.[l]) continue;
        expect(Array.from((r.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice).indices), `${gi.kind}, layer ${l}`).toEqual(gi.experts_chosen[l]!.flat());
      }
    }
  });
});

// A function hook at a family's own hook point replaces the value everything after it reads:
// the rotation and the KV cache (q/k norms), the sum with the routed experts (the shared expert
// and its gate), the residual add after a dense MLP; in the prefill and the decode step after it.
describe('function hooks at the families\' hook points rerun what they feed, as on the CPU', () => {
  const scale = (f: number) => (v: HookValue) => ({ shape: v.shape, data: (v as HookTensor).data.map((x) => x * f) });
  const hooks: [string, string, (v: HookValue) => HookValue][] = [
    ['olmoe/bf16-gqa2-e16-k8-clip', 'blocks.0.attn.hook_q_normed', scale(1.5)],
    ['olmoe/bf16-gqa2-e16-k8-clip', 'blocks.1.attn.hook_k_normed', scale(-0.8)],
    ['qwen3_moe/f32-gqa2-e16-k8-headdim16', 'blocks.0.attn.hook_k_normed', scale(2)],
    ['qwen2_moe/f32-gqa2-e7-k2-shared-renorm', 'blocks.0.moe.hook_shared_out', scale(3)],
    ['qwen2_moe/f32-gqa2-e7-k2-shared-renorm', 'blocks.1.moe.hook_shared_gate', scale(0)],
    ['qwen2_moe/f16-mha-e16-k4-mlp-only', 'blocks.0.hook_mlp_out', scale(-1)],
    ['granitemoe/f32-mha-e8-k2-tied', 'blocks.1.hook_attn_out', scale(2)],
  ];
  it.for(kernelSets.flatMap((k) => hooks.map(([fixture, hook, fn]) => [fixture, hook, k.subgroups, fn] as const)))('%s: %s (subgroups %s)', SLOW, async ([fixture, hook, subgroups, fn], ctx) => {
    const d = device(ctx);
    const c = cases.find((g) => g.name === fixture)!;
    const ckpt = await loadModelDirectory(c.dir);
    const cpu = new CpuEngine(ckpt.config, ckpt.weights);
    const g = await WebGpuEngine.create(d, ckpt.config, ckpt.weights, { weights: weightStorageFor(ckpt.dtypeBytes), subgroups });
    const ids = c.expected.ids;
    const run = async (e: CpuEngine | WebGpuEngine) => {
      using s = e.createSession();
      const a = await s.forward(ids.slice(0, -1), { output: 'all', hooks: { fns: { [hook]: fn } } });
      const b = await s.forward(ids.slice(-1));
      return [a.logits, b.logits];
    };
    const [ga, gb] = await run(g), [ca, cb] = await run(cpu);
    expect(maxDiff(ga, ca), 'prefill').toBeLessThanOrEqual(TOL);
    expect(maxDiff(gb, cb), 'decode after it').toBeLessThanOrEqual(TOL);
    // The hook changed something: its prefill logits differ from an unhooked run's.
    expect(maxDiff(ca, (await cpu.forward(ids.slice(0, -1), { output: 'all' })).logits)).toBeGreaterThan(1e-4);
    g.dispose();
  });

  it('the dense layers of a model have no MoE work planned (no router hook is produced)', SLOW, async (ctx) => {
    const d = device(ctx);
    const c = cases.find((g) => g.name === 'qwen3_moe/bf16-gqa2-e128-k8-mlp-only-sharded')!;
    const ckpt = await loadModelDirectory(c.dir);
    const g = await WebGpuEngine.create(d, ckpt.config, ckpt.weights, { subgroups: false });
    const r = await g.forward(c.expected.ids, { hooks: ['*'] });
    for (let l = 0; l < ckpt.config.num_hidden_layers; l++) expect(r.hooks.has(`blocks.${l}.moe.hook_router_logits`), `layer ${l}`).toBe(isMoeLayer(ckpt.config.family, l));
    g.dispose();
  });
});

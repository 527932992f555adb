// The attention, router and expert kernels against the CPU engine itself: the CPU forward's hook
// values are the inputs, and the GPU must reproduce the CPU's next hook values (pattern, z,
// router probabilities and choices, expert outputs), with data interventions applied on the GPU.
// Weights are rounded to f16 first so both sides use the same numbers.
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { CpuEngine } from '../cpu/engine.ts';
import type { ExpertChoice, HookTensor } from '../hooks/request.ts';
import type { Intervention } from '../hooks/interventions.ts';
import { requestNodeDevice, type NodeGpu } from '../../tests/gpu/node-webgpu.ts';
import { noAdapter, noSubgroups } from '../../tests/gpu/ci-policy.ts';
import { randomWeights, tinyConfig } from '../../tests/helpers/random-model.ts';
import { createEmpty, createStorage, readBuffer, readF32, submit, validated, type Pass } from './gpu.ts';
import { packF16, unpackF16 } from './f16.ts';
import { createKernels, planArgmax, planAttention, planEmbed, planExperts, planExpertsGrouped, planMatmul, planRouter, routerRules, type Kernels, type PipelineName } from './kernels.ts';
import type { MixtralWeights } from '../weights.ts';

const config = tinyConfig({ hidden_size: 16, intermediate_size: 24, sliding_window: 5 });
const f16 = (a: Float32Array) => unpackF16(packF16(a));
const weights: MixtralWeights = (() => {
  const w = randomWeights(config, 3);
  return {
    embed_tokens: f16(w.embed_tokens), norm: w.norm, lm_head: w.lm_head,
    layers: w.layers.map((l) => ({ ...l, experts: l.experts.map((e) => ({ w1: f16(e.w1), w2: f16(e.w2), w3: f16(e.w3) })) })),
  };
})();
const engine = new CpuEngine(config, weights);
const ids = [1, 7, 11, 13, 17, 19, 23, 29, 31];
const { num_attention_heads: H, num_key_value_heads: Hkv, head_dim: Dh, hidden_size: D, num_local_experts: E, num_experts_per_tok: K, intermediate_size: F } = config;

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// Both kernel sets: the subgroup kernels (where the adapter has `subgroups`, as SwiftShader does)
// and the workgroup-reduction kernels every adapter runs.
describe.each([{ set: 'subgroup kernels', subgroups: true }, { set: 'workgroup-reduction kernels', subgroups: false }])('attention, router and expert kernels reproduce the CPU engine (Dawn, $set)', ({ set, subgroups }) => {
  let gpu: NodeGpu | { reason: string };
  let k: Kernels;
  const made: GPUBuffer[] = [];
  beforeAll(async () => {
    gpu = await requestNodeDevice();
    if (!('reason' in gpu)) k = await createKernels(gpu.device, { subgroups });
  });
  afterAll(() => {
    for (const b of made) b.destroy();
    if (gpu && !('reason' in gpu)) gpu.device.destroy();
  });
  const ready = (ctx: TestContext) => {
    if ('reason' in gpu) noAdapter('layer kernels (Dawn)', gpu.reason, (m) => ctx.skip(m));
    if (subgroups && !k.subgroups) noSubgroups(`layer kernels (Dawn, ${set})`, (m) => ctx.skip(m));
  };
  /** The expert passes must use the kernel set under test. */
  const expectKernels = (passes: Pass[], names: PipelineName[]) => {
    for (const n of names) expect(passes.some((p) => p.pipeline === k.pipelines[n]), n).toBe(true);
    return passes;
  };
  const up = (label: string, data: ArrayBufferView) => { const b = createStorage(k.device, label, data); made.push(b); return b; };
  const empty = (label: string, n: number) => { const b = createEmpty(k.device, label, 4 * Math.max(n, 1)); made.push(b); return b; };
  async function run(planner: () => Pass[]): Promise<void> {
    const passes = await validated(k.device, 'plan', planner);
    await submit(k.device, passes);
  }

  it('embedding lookup from packed halves is exact', async (ctx) => {
    ready(ctx);
    const r = await engine.forward(ids, { hooks: ['hook_embed'] });
    const x = empty('x', ids.length * D);
    await run(() => [planEmbed(k, { ids: up('ids', Uint32Array.from(ids)), embed: up('embed', packF16(weights.embed_tokens)), x, T: ids.length, D })]);
    expect(maxDiff(await readF32(k.device, x, ids.length * D), (r.hooks.get('hook_embed') as HookTensor).data)).toBe(0);
  });

  for (const [name, zeroHead] of [['no intervention', null], ['head 2 zeroed', 2]] as const) {
    it(`attention with GQA and the sliding window gives the CPU pattern and z (${name}), over a cache`, async (ctx) => {
      ready(ctx);
      const ivs: Intervention[] = zeroHead === null ? [] : [{ kind: 'zero_head', layer: 1, head: zeroHead }];
      const session = engine.createSession();
      const first = await session.forward(ids.slice(0, 6), { hooks: ['blocks.1.attn.hook_k', 'blocks.1.attn.hook_v'], interventions: ivs });
      const r = await session.forward(ids.slice(6), { hooks: ['blocks.1.attn.*'], interventions: ivs });
      const T = 3, S = ids.length, pos0 = 6;
      const cat = (a: HookTensor, b: HookTensor) => { const o = new Float32Array(a.data.length + b.data.length); o.set(a.data); o.set(b.data, a.data.length); return o; };
      const kc = cat(first.hooks.get('blocks.1.attn.hook_k') as HookTensor, r.hooks.get('blocks.1.attn.hook_k') as HookTensor);
      const vc = cat(first.hooks.get('blocks.1.attn.hook_v') as HookTensor, r.hooks.get('blocks.1.attn.hook_v') as HookTensor);
      const att = empty('att', H * T * S), z = empty('z', T * H * Dh);
      const scale = Float32Array.from({ length: H }, (_, h) => (h === zeroHead ? 0 : 1));
      await run(() => planAttention(k, {
        T, S, H, Hkv, Dh, pos0, window: config.sliding_window,
        q: up('q', (r.hooks.get('blocks.1.attn.hook_q') as HookTensor).data), kcache: up('k', kc), vcache: up('v', vc), att, headScale: up('scale', scale), z,
      }));
      const pattern = await readF32(k.device, att, H * T * S);
      expect(maxDiff(pattern, (r.hooks.get('blocks.1.attn.hook_pattern') as HookTensor).data)).toBeLessThanOrEqual(1e-6);
      expect(maxDiff(await readF32(k.device, z, T * H * Dh), (r.hooks.get('blocks.1.attn.hook_z') as HookTensor).data)).toBeLessThanOrEqual(1e-5);
      // Masked keys are exactly 0, as on the CPU.
      for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let j = 0; j < S; j++) {
        const p = pos0 + t;
        if (j > p || p - j >= config.sliding_window!) expect(pattern[(h * T + t) * S + j]).toBe(0);
      }
    });
  }

  const cases: [string, Intervention[]][] = [
    ['no intervention', []],
    ['an ablated expert and a router bias', [{ kind: 'ablate_experts', layer: 0, experts: [1] }, { kind: 'router_bias', layer: 0, bias: [0.5, 0, -0.3, 0.2] }]],
    ['forced experts at two positions', [{ kind: 'force_experts', layer: 0, experts: [3, 0], positions: [2, 5] }]],
    ['forced experts with given weights everywhere', [{ kind: 'force_experts', layer: 0, experts: [2, 1], weights: [0.7, 0.3] }]],
  ];
  for (const [name, ivs] of cases) {
    it(`router and only-chosen experts give the CPU choice and output (${name})`, async (ctx) => {
      ready(ctx);
      const r = await engine.forward(ids, { interventions: ivs, hooks: ['blocks.0.moe.*', 'blocks.0.hook_resid_mid', 'blocks.0.hook_mlp_out'] });
      const T = ids.length;
      const lw = weights.layers[0];
      // the MoE input: rmsnorm(resid_mid) recomputed on the host from the CPU hook
      const mid = (r.hooks.get('blocks.0.hook_resid_mid') as HookTensor).data;
      const xm = new Float32Array(T * D);
      const { rmsnorm } = await import('../cpu/ops.ts');
      rmsnorm(xm, mid, lw.post_attention_layernorm, T, D, config.rms_norm_eps);
      const bias = new Float32Array(E), ablated = new Uint32Array(E);
      const force: { experts: number[]; weights?: number[]; positions?: number[] }[] = [];
      for (const iv of ivs) {
        if (iv.kind === 'router_bias') iv.bias.forEach((b, e) => { bias[e] += b; });
        if (iv.kind === 'ablate_experts') iv.experts.forEach((e) => { ablated[e] = 1; });
        if (iv.kind === 'force_experts') force.push(iv);
      }
      const x = up('xm', xm), logits = empty('logits', T * E), probs = empty('probs', T * E);
      const idx = empty('idx', T * K), wts = empty('weights', T * K), h = empty('h', T * K * F), eo = empty('eo', T * K * D), out = empty('out', T * D);
      const pack = (sel: 'w1' | 'w2' | 'w3') => { const all = new Float32Array(E * lw.experts[0][sel].length); lw.experts.forEach((e, i) => all.set(e[sel], i * e[sel].length)); return up(sel, packF16(all)); };
      await run(() => [
        planMatmul(k, { x, w: up('gate', lw.gate), out: logits, T, In: D, N: E, dtype: 'f32' }),
        planRouter(k, { T, E, K, pos0: 0, bias: up('bias', bias), ablated: up('ablated', ablated), rules: up('rules', routerRules(K, force)), logits, probs, idx, weights: wts }),
        ...expectKernels(planExperts(k, { T, K, D, F, x, idx, weights: wts, w1: pack('w1'), w3: pack('w3'), w2: pack('w2'), h, expertOut: eo, out }),
          subgroups ? ['moe_gate_up_subgroup', 'moe_down_subgroup'] : ['moe_gate_up', 'moe_down']),
      ]);
      const choice = r.hooks.get('blocks.0.moe.hook_expert_choice') as ExpertChoice;
      expect(maxDiff(await readF32(k.device, logits, T * E), (r.hooks.get('blocks.0.moe.hook_router_logits') as HookTensor).data)).toBeLessThanOrEqual(1e-5);
      expect(maxDiff(await readF32(k.device, probs, T * E), (r.hooks.get('blocks.0.moe.hook_router_probs') as HookTensor).data)).toBeLessThanOrEqual(1e-6);
      expect(Array.from(new Uint32Array(await readBuffer(k.device, idx, 4 * T * K)))).toEqual(Array.from(choice.indices));
      expect(maxDiff(await readF32(k.device, wts, T * K), choice.weights)).toBeLessThanOrEqual(1e-6);
      expect(maxDiff(await readF32(k.device, eo, T * K * D), (r.hooks.get('blocks.0.moe.hook_expert_out') as HookTensor).data)).toBeLessThanOrEqual(1e-5);
      expect(maxDiff(await readF32(k.device, out, T * D), (r.hooks.get('blocks.0.hook_mlp_out') as HookTensor).data)).toBeLessThanOrEqual(1e-5);

      // The same routing through the grouped (prefill) kernels: all experts in one buffer, and
      // one buffer per expert as when a layer is split under the binding limit.
      const perExpert = (sel: 'w1' | 'w2' | 'w3') => lw.experts.map((e, i) => ({ buffer: up(`${sel} ${i}`, packF16(e[sel])), row0: i, rows: 1 }));
      const whole = (sel: 'w1' | 'w2' | 'w3') => [{ buffer: pack(sel), row0: 0, rows: E }];
      for (const parts of [whole, perExpert]) {
        const h2 = empty('h2', T * K * F), eo2 = empty('eo2', T * K * D), out2 = empty('out2', T * D);
        await run(() => expectKernels(planExpertsGrouped(k, { T, K, E, D, F, x, idx, weights: wts, w1: parts('w1'), w3: parts('w3'), w2: parts('w2'),
          offsets: empty('offsets', E + 1), order: empty('order', T * K), h: h2, expertOut: eo2, out: out2 }),
          subgroups ? ['moe_gate_up_grouped_subgroup', 'moe_down_grouped_subgroup'] : ['moe_gate_up_grouped', 'moe_down_grouped']));
        expect(maxDiff(await readF32(k.device, eo2, T * K * D), (r.hooks.get('blocks.0.moe.hook_expert_out') as HookTensor).data)).toBeLessThanOrEqual(1e-5);
        expect(maxDiff(await readF32(k.device, out2, T * D), (r.hooks.get('blocks.0.hook_mlp_out') as HookTensor).data)).toBeLessThanOrEqual(1e-5);
      }
    });
  }

  it('argmax on the GPU picks the greedy token, ties to the lower index', async (ctx) => {
    ready(ctx);
    const x = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3);
    x[700] = 9; x[901] = 9;
    const out = empty('out', 1);
    await run(() => [planArgmax(k, { x: up('x', x), n: x.length, out })]);
    expect(new Uint32Array(await readBuffer(k.device, out, 4))[0]).toBe(700);
  });
});

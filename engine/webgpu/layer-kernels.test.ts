// The attention, router, expert and sampling kernels against the CPU engine itself: the CPU
// forward's hook values are the inputs, and the GPU must reproduce the CPU's next hook values
// (pattern, z, router logits, probabilities and choices, expert outputs, the residual after the
// experts), with data interventions applied on the GPU; the sampler must pick the CPU's token
// (engine/sampling.ts: pickToken, topTokens) bit for bit. Flash-decoding's splits and the f16 KV
// cache are checked against attentionTwin (twins.ts) over long contexts. Weights are rounded to
// f16 first so both sides use the same numbers.
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { CpuEngine } from '../cpu/engine.ts';
import { rmsnorm } from '../cpu/ops.ts';
import type { ExpertChoice, HookTensor } from '../hooks/request.ts';
import { interventionsForLayer, type Intervention } from '../hooks/interventions.ts';
import { pickToken, topTokens, type SamplingOptions } from '../sampling.ts';
import { requestNodeDevice, type NodeGpu } from '../../tests/gpu/node-webgpu.ts';
import { noAdapter, noSubgroups } from '../../tests/gpu/ci-policy.ts';
import { randomWeights, tinyConfig } from '../../tests/helpers/random-model.ts';
import { createEmpty, createStorage, createUniform, readBuffer, readF32, submit, validated, write, type Pass } from './gpu.ts';
import { floatToHalf, packF16, unpackF16 } from './f16.ts';
import {
  attentionSplits, createKernels, disposeKernels, kvWords, planAttention, planEmbed, planExperts, planExpertsGrouped, planRouter, planSample,
  routerRules, sampleWords, stepWords, type Kernels,
} from './kernels.ts';
import { attentionTwin } from './twins.ts';
import type { MixtralWeights } from '../weights.ts';
import type { ShaderName } from './shaders.ts';

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

function randn(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const u = () => { s = (s + 0x6d2b79f5) >>> 0; let t = Math.imul(s ^ (s >>> 15), s | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  return Float32Array.from({ length: n }, () => scale * Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u()));
}

/**
 * A layer's KV cache as the kernels read it (lib/kv.wgsl): keys then values, (capacity, Hkv, Dh)
 * each, as f32 or (f16KV) as words holding elements i and i + Dh/2 of a head.
 */
function kvCache(kc: Float32Array, vc: Float32Array, capacity: number, hkv: number, dh: number, f16KV: boolean): Uint32Array {
  const half = kvWords({ f16KV }, capacity, hkv, dh), out = new Uint32Array(2 * half);
  [kc, vc].forEach((src, which) => {
    const at = which * half;
    if (!f16KV) { out.set(new Uint32Array(src.buffer, src.byteOffset, src.length), at); return; }
    for (let r = 0; r < src.length / dh; r++) {
      for (let i = 0; i < dh / 2; i++) out[at + r * (dh / 2) + i] = floatToHalf(src[r * dh + i]) | (floatToHalf(src[r * dh + i + dh / 2]) << 16);
    }
  });
  return out;
}

// Both kernel sets: the subgroup kernels (where the adapter has `subgroups`, as SwiftShader does)
// and the workgroup-reduction kernels every adapter runs.
describe.each([{ set: 'subgroup kernels', subgroups: true }, { set: 'workgroup-reduction kernels', subgroups: false }])('attention, router, expert and sampling kernels reproduce the CPU engine (Dawn, $set)', ({ set, subgroups }) => {
  let gpu: NodeGpu | { reason: string };
  let k: Kernels;
  let kh: Kernels | undefined; // with the f16 KV cache, made by the first test that needs it
  const made: GPUBuffer[] = [];
  // Compiling every variant the engine dispatches takes a while on SwiftShader.
  beforeAll(async () => {
    gpu = await requestNodeDevice();
    if (!('reason' in gpu)) k = await createKernels(gpu.device, { subgroups });
  }, 600_000);
  afterAll(() => {
    for (const b of made) b.destroy();
    if (k) disposeKernels(k);
    if (kh) disposeKernels(kh);
    if (gpu && !('reason' in gpu)) gpu.device.destroy();
  });
  const ready = (ctx: TestContext) => {
    if ('reason' in gpu) noAdapter('layer kernels (Dawn)', gpu.reason, (m) => ctx.skip(m));
    if (subgroups && !k.subgroups) noSubgroups(`layer kernels (Dawn, ${set})`, (m) => ctx.skip(m));
  };
  /** The passes must use the kernel set under test. */
  const expectKernels = (passes: Pass[], names: ShaderName[]) => {
    for (const n of names) expect(passes.some((p) => p.kernel === n), n).toBe(true);
    return passes;
  };
  const up = (label: string, data: ArrayBufferView) => { const b = createStorage(k.device, label, data); made.push(b); return b; };
  const empty = (label: string, n: number) => { const b = createEmpty(k.device, label, 4 * Math.max(n, 4)); made.push(b); return b; };
  const stepOf = (pos0: number, S: number, splits: number, draw = 0) => { const b = createUniform(k.device, 'step', [...stepWords({ pos0, S, splits, draw })]); made.push(b); return b; };
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

  // A prefill of 3 rows (one split), and decode steps split 1, 2 and 3 ways (flash-decoding's
  // merge), the pattern written to block 1 of a 2-block pattern buffer.
  const attentionCases = [[3, 1], [1, 1], [1, 2], [1, 3]] as const;
  for (const [zname, zeroHead] of [['no intervention', null], ['head 2 zeroed', 2]] as const) {
    for (const [T, splits] of attentionCases) {
      it(`attention with GQA and the sliding window gives the CPU pattern and z (${zname}), T=${T} over a cache, ${splits} split${splits > 1 ? 's' : ''}`, async (ctx) => {
        ready(ctx);
        const ivs: Intervention[] = zeroHead === null ? [] : [{ kind: 'zero_head', layer: 1, head: zeroHead }];
        const S = ids.length, pos0 = S - T, capacity = S + 4;
        const session = engine.createSession();
        const first = await session.forward(ids.slice(0, pos0), { hooks: ['blocks.1.attn.hook_k', 'blocks.1.attn.hook_v'], interventions: ivs });
        const r = await session.forward(ids.slice(pos0), { hooks: ['blocks.1.attn.*'], interventions: ivs });
        session.dispose();
        const cat = (name: string) => {
          const a = (first.hooks.get(name) as HookTensor).data, b = (r.hooks.get(name) as HookTensor).data;
          const o = new Float32Array(capacity * Hkv * Dh); o.set(a); o.set(b, a.length); return o;
        };
        const kv = up('kv', kvCache(cat('blocks.1.attn.hook_k'), cat('blocks.1.attn.hook_v'), capacity, Hkv, Dh, false));
        const pattern = empty('pattern', 2 * H * T * S), z = empty('z', T * H * Dh);
        const scale = Float32Array.from({ length: H }, (_, h) => (h === zeroHead ? 0 : 1));
        await run(() => expectKernels(planAttention(k, {
          T, H, Hkv, Dh, window: config.sliding_window, capacity, S, splits, step: stepOf(pos0, S, splits),
          qkv: up('q', (r.hooks.get('blocks.1.attn.hook_q') as HookTensor).data), kv, headScale: up('scale', scale),
          pattern, patternSlot: 1, z, partials: empty('partials', T * H * splits * (Dh + 2)),
        }), [subgroups ? 'attention_subgroup' : 'attention', ...(splits > 1 ? ['attention_merge' as const] : [])]));
        const got = await readF32(k.device, pattern, H * T * S, 4 * H * T * S);
        expect(maxDiff(got, (r.hooks.get('blocks.1.attn.hook_pattern') as HookTensor).data)).toBeLessThanOrEqual(1e-6);
        expect(maxDiff(await readF32(k.device, z, T * H * Dh), (r.hooks.get('blocks.1.attn.hook_z') as HookTensor).data)).toBeLessThanOrEqual(1e-5);
        // Masked keys are exactly 0, as on the CPU.
        for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let j = 0; j < S; j++) {
          const p = pos0 + t;
          if (j > p || p - j >= config.sliding_window!) expect(got[(h * T + t) * S + j]).toBe(0);
        }
      });
    }
  }

  // Long contexts against attentionTwin: a decode step at 700 positions without a window (split
  // as the engine splits it), at 480 with a window of 128, and a 4-row prefill; f32 and f16 caches.
  for (const f16KV of [false, true]) {
    for (const [T, S, window] of [[1, 700, null], [1, 480, 128], [4, 300, null]] as const) {
      it(`attention over ${S} positions${window ? ` (window ${window})` : ''}, T=${T}, ${f16KV ? 'f16' : 'f32'} cache, matches the twin`, { timeout: 600_000 }, async (ctx) => {
        ready(ctx);
        const ks = f16KV ? (kh ??= await createKernels(k.device, { subgroups, f16KV: true })) : k;
        const h = 4, hkv = 2, dh = 64, pos0 = S - T, capacity = S + 3, splits = attentionSplits(T, S, window);
        if (T === 1 && window === null) expect(splits).toBeGreaterThan(1);
        const q = randn(T * h * dh, S + T), kc = randn(capacity * hkv * dh, 2 * S, 0.5), vc = randn(capacity * hkv * dh, 3 * S);
        const round = (a: Float32Array) => (f16KV ? f16(a) : a);
        const twin = attentionTwin({ q, kc: round(kc), vc: round(vc), T, S, H: h, Hkv: hkv, Dh: dh, pos0, window });
        const pattern = empty('pattern', h * T * S), z = empty('z', T * h * dh);
        await run(() => planAttention(ks, {
          T, H: h, Hkv: hkv, Dh: dh, window, capacity, S, splits, step: stepOf(pos0, S, splits), qkv: up('q', q),
          kv: up('kv', kvCache(kc, vc, capacity, hkv, dh, f16KV)), headScale: up('scale', new Float32Array(h).fill(1)),
          pattern, patternSlot: 0, z, partials: empty('partials', T * h * splits * (dh + 2)),
        }));
        const pe = maxDiff(await readF32(k.device, pattern, h * T * S), twin.pattern.map((v) => (Number.isFinite(v) ? v : 0)));
        const ze = maxDiff(await readF32(k.device, z, T * h * dh), twin.z);
        console.log(`[webgpu:parity] attention S=${S} window=${window} T=${T} splits=${splits} (${set}, ${f16KV ? 'f16' : 'f32'} cache): pattern ${pe.toExponential(2)}, z ${ze.toExponential(2)}`);
        expect(pe).toBeLessThanOrEqual(1e-6);
        expect(ze).toBeLessThanOrEqual(1e-5);
      });
    }
  }

  const cases: [string, Intervention[]][] = [
    ['no intervention', []],
    ['an ablated expert and a router bias', [{ kind: 'ablate_experts', layer: 0, experts: [1] }, { kind: 'router_bias', layer: 0, bias: [0.5, 0, -0.3, 0.2] }]],
    ['forced experts at two positions', [{ kind: 'force_experts', layer: 0, experts: [3, 0], positions: [2, 5] }]],
    ['forced experts with given weights everywhere', [{ kind: 'force_experts', layer: 0, experts: [2, 1], weights: [0.7, 0.3] }]],
  ];
  for (const [name, ivs] of cases) {
    it(`router (with its norm) and only-chosen experts (with the residual add) give the CPU choice and output (${name})`, async (ctx) => {
      ready(ctx);
      const r = await engine.forward(ids, { interventions: ivs, hooks: ['blocks.0.moe.*', 'blocks.0.hook_resid_mid', 'blocks.0.hook_mlp_out', 'blocks.0.hook_resid_post'] });
      const T = ids.length;
      const lw = weights.layers[0];
      const hook = (n: string) => (r.hooks.get(`blocks.0.${n}`) as HookTensor).data;
      const mid = up('mid', hook('hook_resid_mid'));
      const xm = new Float32Array(T * D);
      rmsnorm(xm, hook('hook_resid_mid'), lw.post_attention_layernorm, T, D, config.rms_norm_eps);
      const xn = empty('xn', T * D), logits = empty('logits', T * E), probs = empty('probs', T * E), choice = empty('choice', 2 * T * K);
      const h = empty('h', T * K * F), eo = empty('eo', T * K * D), mlp = empty('mlp', T * D), out = empty('out', T * D);
      const pack = (sel: 'w1' | 'w2' | 'w3') => { const all = new Float32Array(E * lw.experts[0][sel].length); lw.experts.forEach((e, i) => all.set(e[sel], i * e[sel].length)); return up(sel, packF16(all)); };
      const rules = up('rules', routerRules(E, K, interventionsForLayer(config, ivs, 0)));
      await run(() => [
        ...expectKernels([planRouter(k, { T, D, E, K, eps: config.rms_norm_eps, x: mid, g: up('ln', lw.post_attention_layernorm), gate: up('gate', lw.gate), rules, xn, logits, probs, choice, step: stepOf(0, T, 1) })],
          [subgroups ? 'router_subgroup' : 'router']),
        ...expectKernels(planExperts(k, { T, K, D, F, x: xn, choice, w1: pack('w1'), w3: pack('w3'), w2: pack('w2'), h, res: mid, expertOut: eo, mlpOut: mlp, out }),
          subgroups ? ['moe_gate_up_subgroup', 'moe_down_subgroup'] : ['moe_gate_up', 'moe_down']),
      ]);
      const cpuChoice = r.hooks.get('blocks.0.moe.hook_expert_choice') as ExpertChoice;
      expect(maxDiff(await readF32(k.device, xn, T * D), xm)).toBeLessThanOrEqual(1e-5);
      expect(maxDiff(await readF32(k.device, logits, T * E), hook('moe.hook_router_logits'))).toBeLessThanOrEqual(1e-5);
      expect(maxDiff(await readF32(k.device, probs, T * E), hook('moe.hook_router_probs'))).toBeLessThanOrEqual(1e-6);
      expect(Array.from(new Uint32Array(await readBuffer(k.device, choice, 4 * T * K)))).toEqual(Array.from(cpuChoice.indices));
      expect(maxDiff(await readF32(k.device, choice, T * K, 4 * T * K), cpuChoice.weights)).toBeLessThanOrEqual(1e-6);
      expect(maxDiff(await readF32(k.device, eo, T * K * D), hook('moe.hook_expert_out'))).toBeLessThanOrEqual(1e-5);
      expect(maxDiff(await readF32(k.device, mlp, T * D), hook('hook_mlp_out'))).toBeLessThanOrEqual(1e-5);
      expect(maxDiff(await readF32(k.device, out, T * D), hook('hook_resid_post'))).toBeLessThanOrEqual(1e-5);

      // The same routing through the grouped (prefill) kernels: all experts in one buffer, and
      // one buffer per expert as when a layer is split under the binding limit.
      const perExpert = (sel: 'w1' | 'w2' | 'w3') => lw.experts.map((e, i) => ({ buffer: up(`${sel} ${i}`, packF16(e[sel])), row0: i, rows: 1 }));
      const whole = (sel: 'w1' | 'w2' | 'w3') => [{ buffer: pack(sel), row0: 0, rows: E }];
      for (const parts of [whole, perExpert]) {
        const h2 = empty('h2', T * K * F), eo2 = empty('eo2', T * K * D), mlp2 = empty('mlp2', T * D), out2 = empty('out2', T * D);
        await run(() => expectKernels(planExpertsGrouped(k, { T, K, E, D, F, x: xn, choice, w1: parts('w1'), w3: parts('w3'), w2: parts('w2'),
          offsets: empty('offsets', E + 1), order: empty('order', T * K), h: h2, res: mid, expertOut: eo2, mlpOut: mlp2, out: out2 }),
          subgroups ? ['moe_group', 'moe_gate_up_grouped_subgroup', 'moe_down_grouped_subgroup', 'moe_combine'] : ['moe_group', 'moe_gate_up_grouped', 'moe_down_grouped', 'moe_combine']));
        expect(maxDiff(await readF32(k.device, eo2, T * K * D), hook('moe.hook_expert_out'))).toBeLessThanOrEqual(1e-5);
        expect(maxDiff(await readF32(k.device, mlp2, T * D), hook('hook_mlp_out'))).toBeLessThanOrEqual(1e-5);
        expect(maxDiff(await readF32(k.device, out2, T * D), hook('hook_resid_post'))).toBeLessThanOrEqual(1e-5);
      }
    });
  }

  it('the router reruns from replaced logits (without the bias) and from replaced probabilities', async (ctx) => {
    ready(ctx);
    const T = 5, pos0 = 3;
    const ivs: Intervention[] = [{ kind: 'ablate_experts', layer: 0, experts: [2] }, { kind: 'router_bias', layer: 0, bias: [9, 0, 0, 0] }];
    const rules = up('rules', routerRules(E, K, interventionsForLayer(config, ivs, 0)));
    const given = randn(T * E, 41, 2);
    const logits = up('logits', given), probs = empty('probs', T * E), choice = empty('choice', 2 * T * K);
    const router = (stage: 1 | 2) => planRouter(k, {
      T, D, E, K, eps: 1e-5, stage, x: empty('x', T * D), g: empty('g', D), gate: empty('gate', E * D), rules, xn: empty('xn', T * D), logits, probs, choice, step: stepOf(pos0, pos0 + T, 1),
    });
    // From the logits: softmax over the experts not ablated, no bias added again, top K renormalised.
    const want = new Float32Array(T * E), wantIdx: number[] = [], wantW: number[] = [];
    for (let t = 0; t < T; t++) {
      const row = Array.from(given.subarray(t * E, (t + 1) * E), (v, e) => (e === 2 ? -Infinity : v));
      const m = Math.max(...row), ex = row.map((v) => Math.exp(v - m)), s = ex.reduce((a, b) => a + b, 0);
      ex.forEach((v, e) => { want[t * E + e] = v / s; });
      const top = [...ex.keys()].sort((a, b) => ex[b] - ex[a] || a - b).slice(0, K);
      const sum = top.reduce((a, e) => a + want[t * E + e], 0);
      wantIdx.push(...top); wantW.push(...top.map((e) => want[t * E + e] / sum));
    }
    await run(() => [router(1)]);
    expect(maxDiff(await readF32(k.device, probs, T * E), want)).toBeLessThanOrEqual(1e-6);
    expect(Array.from(new Uint32Array(await readBuffer(k.device, choice, 4 * T * K)))).toEqual(wantIdx);
    expect(maxDiff(await readF32(k.device, choice, T * K, 4 * T * K), wantW)).toBeLessThanOrEqual(1e-6);
    // From probabilities: token 0 puts everything on expert 3.
    const p2 = want.slice(); p2.fill(0, 0, E); p2[3] = 1;
    write(k.device, probs, 0, p2);
    await run(() => [router(2)]);
    expect(Array.from(new Uint32Array(await readBuffer(k.device, choice, 4 * K)))[0]).toBe(3);
  });

  // The sampler: ties in the logits, a spread of options, several draws; the token and the
  // candidates must be the CPU procedure's exactly.
  const samplings: [string, SamplingOptions | null][] = [
    ['greedy', null], ['temperature 0.8, top-k 40, top-p 0.95', { temperature: 0.8, topK: 40, topP: 0.95, seed: 3 }],
    ['temperature 1.3', { temperature: 1.3, seed: 7 }], ['temperature 0.5, top-p 0.5', { temperature: 0.5, topP: 0.5, seed: 11 }],
    ['temperature 2, top-k 1', { temperature: 2, topK: 1, seed: 5 }],
  ];
  for (const [name, sampling] of samplings) {
    it(`the sampler picks the CPU's token and candidates (${name})`, async (ctx) => {
      ready(ctx);
      const V = 1000, n = 10, rowAt = 2; // the row of logits at row 2 of the buffer
      const logits = randn(V, 51, 3);
      const top = Math.max(...logits) + 0.25;
      for (const i of [17, 400, 901]) logits[i] = top; // tied largest: the lower id wins
      logits[300] = logits[301] = top - 0.5;
      const buf = up('logits', (() => { const b = new Float32Array((rowAt + 1) * V); b.set(logits, rowAt * V); return b; })());
      const out = empty('out', sampleWords(n)), idsBuf = empty('ids', 4);
      for (const draw of [0, 1, 2, 7]) {
        await run(() => [planSample(k, { logits: buf, row: rowAt * V, V, sampling, candidates: n, out, ids: idsBuf, step: stepOf(0, 1, 1, draw) })]);
        const words = new Uint32Array(await readBuffer(k.device, out, 4 * sampleWords(n)));
        const want = pickToken(logits, sampling ?? {}, draw);
        expect(words[0], `draw ${draw}`).toBe(want);
        expect(new Uint32Array(await readBuffer(k.device, idsBuf, 4))[0]).toBe(want);
        const cand = topTokens(logits, n), mass = words[2] + words[3] * 2 ** 32;
        expect(words[1]).toBe(n);
        expect(Array.from(words.subarray(4, 4 + n))).toEqual(cand.ids);
        expect(Array.from(words.subarray(4 + n, 4 + 2 * n), (w) => w / mass)).toEqual(cand.probs);
      }
      if (!sampling) expect(pickToken(logits, {}, 0)).toBe(17);
    });
  }

  it('the argmax-only sampler picks the greedy token, ties to the lower index', async (ctx) => {
    ready(ctx);
    const x = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 3);
    x[700] = 9; x[901] = 9;
    const out = empty('out', sampleWords(0)), idsBuf = empty('ids', 4);
    await run(() => expectKernels([planSample(k, { logits: up('x', x), row: 0, V: x.length, sampling: null, candidates: 0, out, ids: idsBuf, step: stepOf(0, 1, 1) })], ['sample']));
    expect(new Uint32Array(await readBuffer(k.device, out, 4))[0]).toBe(700);
    expect(new Uint32Array(await readBuffer(k.device, idsBuf, 4))[0]).toBe(700);
  });
});

// Parity of the kernels the families beside Mixtral add or extend (family.ts) with their CPU twins
// (twins.ts), on Dawn in Node, on both kernel sets: the q, k, v biases and the unrotated
// projections of qkv*.wgsl, the q/k norms with OLMoE's clamp and the rotation (qk_norm.wgsl,
// over the projection and per head, and its rerun from replaced normed values), the bias and
// scale of linear*.wgsl's epilogue, RMSNorm alone (rmsnorm.wgsl), the shared expert's gate and
// sum (shared_gate.wgsl), and the router with 128 experts, with and without renormalisation.
// Tolerance as kernels.test.ts: max_i |gpu_i - cpu_i| / max(1, |cpu_i|).
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { rmsnorm, rope } from '../cpu/ops.ts';
import { requestNodeDevice, type NodeGpu } from '../../tests/gpu/node-webgpu.ts';
import { noAdapter, noSubgroups } from '../../tests/gpu/ci-policy.ts';
import { parityError, randn } from '../../tests/gpu/numbers.ts';
import { createEmpty, createStorage, createUniform, readBuffer, readF32, submit, validated, write, type Pass } from './gpu.ts';
import { packF16, unpackF16 } from './f16.ts';
import { createKernels, disposeKernels, kvWords, planLinear, planQkNorm, planQkv, planRmsnorm, planRouter, planSharedGate, routerRules, stepWords, type Kernels } from './kernels.ts';
import { linearTwin, qkNormTwin, qkvTwin, routerTwin, sharedGateTwin } from './twins.ts';

describe('the families\' kernels match their CPU twins (Dawn)', () => {
  let gpu: NodeGpu | { reason: string };
  let k: Kernels;
  let kw: Kernels;
  const made: GPUBuffer[] = [];
  beforeAll(async () => {
    gpu = await requestNodeDevice();
    if (!('reason' in gpu)) [k, kw] = await Promise.all([createKernels(gpu.device), createKernels(gpu.device, { subgroups: false })]);
  }, 600_000); // every variant the engine dispatches compiles here (minutes on a busy SwiftShader)
  afterAll(() => {
    for (const b of made) b.destroy();
    if (k) { disposeKernels(k); disposeKernels(kw); }
    if (gpu && !('reason' in gpu)) gpu.device.destroy();
  });
  function kernelSet(ctx: TestContext, subgroups: boolean): Kernels {
    if ('reason' in gpu) noAdapter('WebGPU family kernels (Dawn)', gpu.reason, (m) => ctx.skip(m));
    if (subgroups && !k.subgroups) noSubgroups('WebGPU family kernels (Dawn)', (m) => ctx.skip(m));
    return subgroups ? k : kw;
  }
  const upload = (label: string, data: ArrayBufferView) => { const b = createStorage(k.device, label, data); made.push(b); return b; };
  const empty = (label: string, floats: number) => { const b = createEmpty(k.device, label, 4 * Math.max(4, floats)); made.push(b); return b; };
  const uniform = (words: Uint32Array) => { const b = createUniform(k.device, 'step', [...words]); made.push(b); return b; };
  async function run(planner: () => Pass[]): Promise<void> {
    await submit(k.device, await validated(k.device, 'plan', planner));
  }
  const setName = (subgroups: boolean) => (subgroups ? 'subgroups' : 'workgroup reduction');

  for (const subgroups of [true, false]) {
    // D = 64 takes qkv_subgroup with subgroups, D = 40 the workgroup-reduction qkv on both sets.
    for (const [T, D, perHead, clip, pos0] of [[3, 64, false, 0.6, 5], [1, 40, true, null, 17], [4, 64, true, null, 0], [2, 40, false, null, 3]] as const) {
      it(`qkv (+ biases, unrotated) then qk_norm ${perHead ? 'per head' : 'over the projection'}${clip ? ', clamped' : ''}: normed q/k, rotated q/k, v and the cache within 1e-5 (T=${T}, D=${D}, ${setName(subgroups)})`, async (ctx) => {
        const ks = kernelSet(ctx, subgroups);
        const H = 4, Hkv = 2, Dh = 16, eps = 1e-6, theta = 1e4, capacity = pos0 + T + 2;
        const x = randn(T * D, 51, 2), g = randn(D, 52);
        const [wq, wk, wv] = [H * Dh, Hkv * Dh, Hkv * Dh].map((n, i) => unpackF16(packF16(randn(n * D, 53 + i, 1 / Math.sqrt(D)))));
        const bias = randn((H + 2 * Hkv) * Dh, 57, 0.5);
        const gq = randn(perHead ? Dh : H * Dh, 58), gk = randn(perHead ? Dh : Hkv * Dh, 59);
        const raw = qkvTwin({ x, g, eps, wq, wk, wv, T, D, H, Hkv, Dh, pos0, theta, bias, rope: false });
        const cpu = qkNormTwin({ ...raw, gq, gk, perHead, eps, clip, T, H, Hkv, Dh, pos0, theta });
        const qkv = empty('qkv', T * (H + 2 * Hkv) * Dh), normed = empty('normed', T * (H + Hkv) * Dh), kv = empty('kv', 2 * kvWords(ks, capacity, Hkv, Dh));
        const step = uniform(stepWords({ pos0, S: pos0 + T, splits: 1, draw: 0 }));
        const norm = { qkv, gq: upload('gq', gq), gk: upload('gk', gk), normed, kv, T, H, Hkv, Dh, perHead, eps, clip, theta, capacity, step };
        await run(() => {
          const pass = planQkv(ks, { x: upload('x', x), g: upload('g', g), eps, wq: upload('wq', packF16(wq)), wk: upload('wk', packF16(wk)), wv: upload('wv', packF16(wv)),
            qkv, kv, T, D, H, Hkv, Dh, theta, capacity, step, bias: upload('bias', bias), rope: false });
          expect(pass.kernel).toBe(subgroups && D % 8 === 0 ? 'qkv_subgroup' : 'qkv');
          return [pass, planQkNorm(ks, norm)];
        });
        const got = await readF32(k.device, qkv, T * (H + 2 * Hkv) * Dh), gotNormed = await readF32(k.device, normed, T * (H + Hkv) * Dh);
        const err = Math.max(parityError(got, [...cpu.q, ...cpu.k, ...cpu.v]), parityError(gotNormed, [...cpu.qNormed, ...cpu.kNormed]));
        console.log(`[webgpu:parity] qkv + qk_norm T=${T} D=${D} ${perHead ? 'per head' : 'projection'} (${setName(subgroups)}): max err ${err.toExponential(2)}`);
        expect(err).toBeLessThanOrEqual(1e-5);
        if (clip) expect(Math.max(...cpu.v.map(Math.abs))).toBeLessThanOrEqual(Math.fround(clip));
        // The cache rows pos0.. hold the rotated k and the (clamped) v.
        const cache = new Float32Array(await readBuffer(k.device, kv, 4 * 2 * kvWords(ks, capacity, Hkv, Dh)));
        const row = Hkv * Dh, vAt = kvWords(ks, capacity, Hkv, Dh);
        expect(Array.from(cache.subarray(pos0 * row, (pos0 + T) * row))).toEqual(Array.from(got.subarray(T * H * Dh, T * (H + Hkv) * Dh)));
        expect(Array.from(cache.subarray(vAt + pos0 * row, vAt + (pos0 + T) * row))).toEqual(Array.from(got.subarray(T * (H + Hkv) * Dh)));

        // Stage 1: normed values replaced (a function hook) are rotated and appended again.
        const replaced = new Float32Array([...cpu.qNormed, ...cpu.kNormed].map((v, i) => v * (1 + (i % 3))));
        write(k.device, normed, 0, replaced);
        await run(() => [planQkNorm(ks, { ...norm, stage: 1 })]);
        const again = await readF32(k.device, qkv, T * (H + Hkv) * Dh);
        const q2 = replaced.slice(0, T * H * Dh), k2 = replaced.slice(T * H * Dh);
        rope(q2, T, H, Dh, pos0, theta);
        rope(k2, T, Hkv, Dh, pos0, theta);
        expect(parityError(again, [...q2, ...k2])).toBeLessThanOrEqual(1e-5);
        const cache2 = new Float32Array(await readBuffer(k.device, kv, 4 * 2 * kvWords(ks, capacity, Hkv, Dh)));
        expect(parityError(cache2.subarray(pos0 * row, (pos0 + T) * row), k2)).toBeLessThanOrEqual(1e-6);
      });
    }

    for (const [T, D] of [[3, 64], [1, 40]] as const) {
      it(`qkv adds the q, k, v biases before the rotation, within 1e-5 (T=${T}, D=${D}, ${setName(subgroups)})`, async (ctx) => {
        const ks = kernelSet(ctx, subgroups);
        const H = 4, Hkv = 2, Dh = 16, eps = 1e-6, theta = 1e6, pos0 = 9, capacity = pos0 + T;
        const x = randn(T * D, 41, 2), g = randn(D, 42);
        const [wq, wk, wv] = [H * Dh, Hkv * Dh, Hkv * Dh].map((n, i) => unpackF16(packF16(randn(n * D, 43 + i, 1 / Math.sqrt(D)))));
        const bias = randn((H + 2 * Hkv) * Dh, 47);
        const cpu = qkvTwin({ x, g, eps, wq, wk, wv, T, D, H, Hkv, Dh, pos0, theta, bias });
        const qkv = empty('qkv', T * (H + 2 * Hkv) * Dh), kv = empty('kv', 2 * kvWords(ks, capacity, Hkv, Dh));
        await run(() => [planQkv(ks, { x: upload('x', x), g: upload('g', g), eps, wq: upload('wq', packF16(wq)), wk: upload('wk', packF16(wk)), wv: upload('wv', packF16(wv)),
          qkv, kv, T, D, H, Hkv, Dh, theta, capacity, step: uniform(stepWords({ pos0, S: pos0 + T, splits: 1, draw: 0 })), bias: upload('bias', bias) })]);
        expect(parityError(await readF32(k.device, qkv, T * (H + 2 * Hkv) * Dh), [...cpu.q, ...cpu.k, ...cpu.v])).toBeLessThanOrEqual(1e-5);
      });
    }

    for (const [T, In, N] of [[3, 64, 33], [1, 50, 20], [9, 256, 40]] as const) {
      it(`linear's epilogue: + bias, times scale, before the residual add, within 1e-5 (T=${T}, In=${In}, N=${N}, ${setName(subgroups)})`, async (ctx) => {
        const ks = kernelSet(ctx, subgroups);
        const x = randn(T * In, 61), wf = unpackF16(packF16(randn(N * In, 62, 1 / Math.sqrt(In)))), bias = randn(N, 63), res = randn(T * N, 64), scale = 0.37;
        const cpu = linearTwin({ x, w: wf, T, In, N, res, bias, scale });
        const out = empty('out', T * N), y = empty('y', T * N);
        await run(() => [planLinear(ks, { x: upload('x', x), w: upload('w', packF16(wf)), out, y, res: upload('res', res), T, In, N, dtype: 'f16', bias: upload('bias', bias), scale })]);
        expect(parityError(await readF32(k.device, out, T * N), cpu.out)).toBeLessThanOrEqual(1e-5);
        expect(parityError(await readF32(k.device, y, T * N), cpu.y)).toBeLessThanOrEqual(1e-5);
      });
    }

    for (const renorm of [true, false]) {
      it(`the router with 128 experts, top 8, ${renorm ? 'renormalised' : 'the probabilities as weights'}, an ablation and a forced rule, matches (${setName(subgroups)})`, async (ctx) => {
        const ks = kernelSet(ctx, subgroups);
        const T = 5, D = 48, E = 128, K = 8, eps = 1e-6, pos0 = 2;
        const x = randn(T * D, 71, 2), g = randn(D, 72), gate = randn(E * D, 73, 1 / Math.sqrt(D));
        const iv = { bias: null, ablated: new Set([3, 90]), force: [{ experts: [5, 6, 7, 8, 9, 10, 11, 12], positions: [4] }] };
        const cpu = routerTwin({ x, g, eps, gate, T, D, E, K, pos0, renorm, ...iv });
        const xn = empty('xn', T * D), logits = empty('logits', T * E), probs = empty('probs', T * E), choice = empty('choice', 2 * T * K);
        await run(() => [planRouter(ks, { T, D, E, K, eps, x: upload('x', x), g: upload('g', g), gate: upload('gate', gate), rules: upload('rules', routerRules(E, K, iv)),
          xn, logits, probs, choice, step: uniform(stepWords({ pos0, S: pos0 + T, splits: 1, draw: 0 })), renorm })]);
        expect(parityError(await readF32(k.device, logits, T * E), cpu.logits)).toBeLessThanOrEqual(1e-5);
        expect(parityError(await readF32(k.device, probs, T * E), cpu.probs)).toBeLessThanOrEqual(1e-6);
        const words = await readBuffer(k.device, choice, 4 * 2 * T * K);
        expect(Array.from(new Int32Array(words, 0, T * K))).toEqual(Array.from(cpu.indices));
        expect(parityError(new Float32Array(words, 4 * T * K, T * K), cpu.weights)).toBeLessThanOrEqual(1e-6);
      });
    }
  }

  it('rmsnorm matches the CPU\'s within 1e-6', async (ctx) => {
    const ks = kernelSet(ctx, false);
    const T = 5, D = 100, eps = 1e-6, x = randn(T * D, 81, 3), g = randn(D, 82);
    const want = new Float32Array(T * D);
    rmsnorm(want, x, g, T, D, eps);
    const out = empty('out', T * D);
    await run(() => [planRmsnorm(ks, { x: upload('x', x), g: upload('g', g), out, T, D, eps })]);
    expect(parityError(await readF32(k.device, out, T * D), want)).toBeLessThanOrEqual(1e-6);
  });

  it('shared_gate: the gate, the sum with the routed experts and the residual add, and its rerun from a given gate', async (ctx) => {
    const ks = kernelSet(ctx, false);
    const T = 4, D = 70, scale = 1;
    const xn = randn(T * D, 91), wg = randn(D, 92, 0.2), routed = randn(T * D, 93), shared = randn(T * D, 94), res = randn(T * D, 95);
    const cpu = sharedGateTwin({ xn, wg, routed, shared, res, T, D, scale });
    const gate = empty('gate', T), mlpOut = empty('mlpOut', T * D), out = empty('out', T * D);
    const a = { xn: upload('xn', xn), wg: upload('wg', wg), routed: upload('routed', routed), shared: upload('shared', shared), res: upload('res', res), gate, mlpOut, out, T, D, scale };
    await run(() => [planSharedGate(ks, a)]);
    expect(parityError(await readF32(k.device, gate, T), cpu.gate)).toBeLessThanOrEqual(1e-6);
    expect(parityError(await readF32(k.device, mlpOut, T * D), cpu.mlpOut)).toBeLessThanOrEqual(1e-6);
    expect(parityError(await readF32(k.device, out, T * D), cpu.out)).toBeLessThanOrEqual(1e-6);
    const given = Float32Array.from([0, 0.5, 1, 2]);
    write(k.device, gate, 0, given);
    await run(() => [planSharedGate(ks, { ...a, stage: 1 })]);
    expect(parityError(await readF32(k.device, out, T * D), sharedGateTwin({ xn, wg, routed, shared, res, T, D, scale, gate: given }).out)).toBeLessThanOrEqual(1e-6);
  });
});

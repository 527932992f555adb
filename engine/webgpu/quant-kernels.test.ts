// Parity of the q8 and q4 weight reads (shaders/lib/weights.wgsl) in every kernel that takes a
// big matrix, on Dawn in Node, both kernel sets: the kernels against their CPU twins (twins.ts)
// fed the same matrices dequantized as the CPU engine does (dequantTwin: quantize.ts's
// dequantRow). Matrices are quantized on the host and laid out as one part (weight-layout.ts:
// quantPart, the bytes WeightWriter writes), experts stacked E to a buffer or one per buffer (a
// split layer's parts: each part's scales follow its own q region).
// Dequantizing is exact: a product with one-hot rows must return every weight bit for bit. The
// fused products then keep the f16/f32 kernels' tolerance: err = max |gpu - cpu| / max(1, |cpu|)
// <= 1e-5 (the CPU sums in float64, the GPU in f32).
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { quantizeRows, type QuantMatrix } from '../quant/quantize.ts';
import { requestNodeDevice, type NodeGpu } from '../../tests/gpu/node-webgpu.ts';
import { noAdapter, noSubgroups } from '../../tests/gpu/ci-policy.ts';
import { createEmpty, createStorage, createUniform, readF32, submit, validated, type Pass } from './gpu.ts';
import { createKernels, disposeKernels, kvWords, planEmbed, planExperts, planExpertsGrouped, planLinear, planQkv, stepWords, type Kernels } from './kernels.ts';
import { dequantTwin, linearTwin, moeTwin, qkvTwin } from './twins.ts';
import { quantPart } from './weight-layout.ts';
import { parityError, randn } from '../../tests/gpu/numbers.ts';

/** (rows, cols) random weights quantized as `format`, and the same dequantized (the twins' input). */
function quantized(format: 'q8' | 'q4', rows: number, cols: number, seed: number, scale = 1 / Math.sqrt(cols)): { m: QuantMatrix; w: Float32Array } {
  const all = randn(rows * cols, seed, scale);
  const m = quantizeRows(format, rows, cols, (r, out) => out.set(all.subarray(r * cols, (r + 1) * cols)));
  return { m, w: dequantTwin(m) };
}

const sets = [{ set: 'subgroup kernels', subgroups: true }, { set: 'workgroup-reduction kernels', subgroups: false }];
describe.each(sets)('q8 and q4 weights in every matrix kernel match their CPU twins (Dawn, $set)', ({ set, subgroups }) => {
  let gpu: NodeGpu | { reason: string };
  const ks = new Map<string, Kernels>();
  const made: GPUBuffer[] = [];
  beforeAll(async () => {
    gpu = await requestNodeDevice();
    if ('reason' in gpu) return;
    for (const format of ['q8', 'q4'] as const) ks.set(format, await createKernels(gpu.device, { format, subgroups }));
  }, 600_000);
  afterAll(() => {
    for (const b of made) b.destroy();
    for (const k of ks.values()) disposeKernels(k);
    if (gpu && !('reason' in gpu)) gpu.device.destroy();
  });
  /** The kernels of `format`, or a skip (outside CI) / failure (in CI) without an adapter or subgroups. */
  function kernels(ctx: TestContext, format: 'q8' | 'q4'): Kernels {
    if ('reason' in gpu) noAdapter(`q8/q4 kernels (Dawn, ${set})`, gpu.reason, (m) => ctx.skip(m));
    const k = ks.get(format)!;
    if (subgroups && !k.subgroups) noSubgroups(`q8/q4 kernels (Dawn, ${set})`, (m) => ctx.skip(m));
    return k;
  }
  const device = () => (gpu as NodeGpu).device;
  const upload = (label: string, data: ArrayBufferView) => { const b = createStorage(device(), label, data); made.push(b); return b; };
  const empty = (label: string, floats: number) => { const b = createEmpty(device(), label, 4 * Math.max(4, floats)); made.push(b); return b; };
  const step = (pos0: number, T: number) => { const b = createUniform(device(), 'step', [...stepWords({ pos0, S: pos0 + T, splits: 1, draw: 0 })]); made.push(b); return b; };
  async function run(planner: () => Pass[], out: GPUBuffer, n: number): Promise<Float32Array> {
    await submit(device(), await validated(device(), 'plan', planner));
    return readF32(device(), out, n);
  }
  const kernelOf = (name: string) => (subgroups ? `${name}_subgroup` : name);

  for (const format of ['q8', 'q4'] as const) {
    it(`${format}: linear dequantizes every weight exactly as the CPU engine (one-hot rows read W^T bit for bit)`, async (ctx) => {
      const k = kernels(ctx, format);
      const In = 96, N = 40, T = In;
      const { m, w } = quantized(format, N, In, 101);
      const eye = new Float32Array(T * In);
      for (let t = 0; t < T; t++) eye[t * In + t] = 1;
      const out = empty('out', T * N);
      const got = await run(() => {
        const pass = planLinear(k, { x: upload('eye', eye), w: upload('w', quantPart(m)), out, T, In, N, dtype: format });
        expect(pass.kernel).toBe(kernelOf('linear'));
        return [pass];
      }, out, T * N);
      const wt = new Float32Array(T * N);
      for (let n = 0; n < N; n++) for (let i = 0; i < In; i++) wt[i * N + n] = w[n * In + i];
      expect(parityError(got, wt)).toBe(0);
    });

    // T = 9 leaves a partial block of the 8-token prefill variant, N = 37 a partial group of rows.
    for (const [T, In, N] of [[1, 128, 37], [9, 64, 37], [3, 32, 8]] as const) {
      it(`${format}: linear with the norm, the residual add and the epilogue matches within 1e-5 (T=${T}, In=${In}, N=${N})`, async (ctx) => {
        const k = kernels(ctx, format);
        const x = randn((T + 2) * In, 102, 2), g = randn(In, 103), res = randn(T * N, 104), bias = randn(N, 105), eps = 1e-5, scale = 0.5;
        const { m, w } = quantized(format, N, In, 106);
        const cpu = linearTwin({ x: x.subarray(2 * In), w, T, In, N, g, eps, res, bias, scale });
        const out = empty('out', T * N), y = empty('y', T * N), xn = empty('xn', T * In);
        const got = await run(() => [planLinear(k, { x: upload('x', x), xRow0: 2, g: upload('g', g), eps, xn, w: upload('w', quantPart(m)), res: upload('res', res), y, out, T, In, N, dtype: format, bias: upload('bias', bias), scale })], out, T * N);
        expect(parityError(got, cpu.out)).toBeLessThanOrEqual(1e-5);
        expect(parityError(await readF32(device(), y, T * N), cpu.y)).toBeLessThanOrEqual(1e-5);
      });
    }

    it(`${format}: qkv (norm, projections, rope) matches within 1e-5`, async (ctx) => {
      const k = kernels(ctx, format);
      for (const [T, pos0] of [[1, 5], [9, 0]] as const) {
        const D = 64, H = 3, Hkv = 1, Dh = 32, eps = 1e-5, theta = 1e4, capacity = pos0 + T + 1;
        const x = randn(T * D, 111, 2), g = randn(D, 112);
        const [q, kk, v] = [H * Dh, Hkv * Dh, Hkv * Dh].map((n, i) => quantized(format, n, D, 113 + i));
        const cpu = qkvTwin({ x, g, eps, wq: q.w, wk: kk.w, wv: v.w, T, D, H, Hkv, Dh, pos0, theta });
        const qkv = empty('qkv', T * (H + 2 * Hkv) * Dh), kv = empty('kv', 2 * kvWords(k, capacity, Hkv, Dh));
        const got = await run(() => {
          const pass = planQkv(k, { x: upload('x', x), g: upload('g', g), eps, wq: upload('wq', quantPart(q.m)), wk: upload('wk', quantPart(kk.m)), wv: upload('wv', quantPart(v.m)),
            qkv, kv, T, D, H, Hkv, Dh, theta, capacity, step: step(pos0, T) });
          expect(pass.kernel).toBe(kernelOf('qkv'));
          return [pass];
        }, qkv, T * (H + 2 * Hkv) * Dh);
        expect(parityError(got, new Float32Array([...cpu.q, ...cpu.k, ...cpu.v]))).toBeLessThanOrEqual(1e-5);
      }
    });

    it(`${format}: the experts, decode (E in one buffer) and grouped (one buffer, and one per expert), match within 1e-5`, async (ctx) => {
      const k = kernels(ctx, format);
      const T = 5, K = 2, E = 3, D = 64, F = 96;
      const up = quantized(format, E * F, D, 121), gate = quantized(format, E * F, D, 122), down = quantized(format, E * D, F, 123);
      const experts = Array.from({ length: E }, (_, e) => ({ w1: gate.w.slice(e * F * D, (e + 1) * F * D), w3: up.w.slice(e * F * D, (e + 1) * F * D), w2: down.w.slice(e * D * F, (e + 1) * D * F) }));
      const xn = randn(T * D, 124), res = randn(T * D, 125);
      const indices = Uint32Array.from({ length: T * K }, (_, i) => (i * 7 + (i >> 1)) % E); // every expert, in varying order
      const weights = Float32Array.from({ length: T * K }, (_, i) => 0.25 + 0.5 * (i % 2));
      const cpu = moeTwin({ xn, indices, weights, experts, res, T, K, D, F });
      const choice = new Uint32Array(2 * T * K);
      choice.set(indices);
      choice.set(new Uint32Array(weights.buffer), T * K);
      const common = { T, K, D, F, x: upload('xn', xn), choice: upload('choice', choice), res: upload('res', res) };
      const check = async (passes: () => Pass[], outs: { expertOut: GPUBuffer; mlpOut: GPUBuffer; out: GPUBuffer }) => {
        await submit(device(), await validated(device(), 'plan', passes));
        expect(parityError(await readF32(device(), outs.expertOut, T * K * D), cpu.expertOut)).toBeLessThanOrEqual(1e-5);
        expect(parityError(await readF32(device(), outs.mlpOut, T * D), cpu.mlpOut)).toBeLessThanOrEqual(1e-5);
        expect(parityError(await readF32(device(), outs.out, T * D), cpu.out)).toBeLessThanOrEqual(1e-5);
      };
      const outs = () => ({ h: empty('h', T * K * F), expertOut: empty('eo', T * K * D), mlpOut: empty('mlp', T * D), out: empty('out', T * D) });
      const decode = outs();
      await check(() => {
        const passes = planExperts(k, { ...common, ...decode, experts: E, w1: upload('w1', quantPart(gate.m)), w3: upload('w3', quantPart(up.m)), w2: upload('w2', quantPart(down.m)) });
        expect(passes.map((p) => p.kernel)).toEqual([kernelOf('moe_gate_up'), kernelOf('moe_down')]);
        return passes;
      }, decode);
      // Grouped: the stacked buffer, then each expert its own part (its own regions).
      const slice = (q: QuantMatrix, rows: number, e: number) => quantizeRows(format, rows, q.cols, (r, out) => out.set(dequantTwin(q).subarray((e * rows + r) * q.cols, (e * rows + r + 1) * q.cols)));
      const whole = (q: QuantMatrix) => [{ buffer: upload('w', quantPart(q)), row0: 0, rows: E }];
      const perExpert = (q: QuantMatrix, rows: number) => Array.from({ length: E }, (_, e) => ({ buffer: upload(`w ${e}`, quantPart(slice(q, rows, e))), row0: e, rows: 1 }));
      for (const parts of [[whole(gate.m), whole(up.m), whole(down.m)], [perExpert(gate.m, F), perExpert(up.m, F), perExpert(down.m, D)]]) {
        const grouped = outs();
        await check(() => {
          const passes = planExpertsGrouped(k, { ...common, ...grouped, E, w1: parts[0], w3: parts[1], w2: parts[2], offsets: empty('offsets', E + 1), order: empty('order', T * K) });
          expect(passes.some((p) => p.kernel === kernelOf('moe_gate_up_grouped'))).toBe(true);
          expect(passes.some((p) => p.kernel === kernelOf('moe_down_grouped'))).toBe(true);
          return passes;
        }, grouped);
      }
    });

    it(`${format}: the embedding lookup is exact, from a table split in two parts`, async (ctx) => {
      const k = kernels(ctx, format);
      const V = 50, D = 64, scale = 1.5;
      const a = quantized(format, 20, D, 131, 1), b = quantized(format, V - 20, D, 132, 1);
      const table = new Float32Array([...a.w, ...b.w]);
      const ids = [3, 49, 20, 0, 19, 33];
      const x = empty('x', ids.length * D), bids = upload('ids', Uint32Array.from(ids));
      const got = await run(() => [
        planEmbed(k, { ids: bids, embed: upload('e0', quantPart(a.m)), x, T: ids.length, D, row0: 0, rows: 20, scale }),
        planEmbed(k, { ids: bids, embed: upload('e1', quantPart(b.m)), x, T: ids.length, D, row0: 20, rows: V - 20, scale }),
      ], x, ids.length * D);
      const want = Float32Array.from({ length: ids.length * D }, (_, i) => Math.fround(table[ids[Math.floor(i / D)] * D + (i % D)] * scale));
      expect(parityError(got, want)).toBe(0);
    });
  }

  it('refuses rows that are not whole groups of 32, naming the kernel', (ctx) => {
    const k = kernels(ctx, 'q8');
    const small = empty('small', 4);
    expect(() => planLinear(k, { x: small, w: small, out: small, T: 1, In: 48, N: 1, dtype: 'q8' })).toThrow(/linear_q8 .*whole groups of 32/);
  });
});

// Parity of the WebGPU dense kernels with their CPU twins (engine/cpu/ops.ts, composed in
// engine/webgpu/twins.ts for the fused ones), run on Dawn in Node (SwiftShader when there is no
// GPU), on both kernel sets. Inputs are seeded random numbers of odd sizes, so strided loops,
// partial workgroups and tails are all exercised. The attention, router, expert and sampling
// kernels are checked against the CPU engine itself in layer-kernels.test.ts.
// Tolerance: err = max_i |gpu_i - cpu_i| / max(1, |cpu_i|), relative for large outputs and
// absolute for small ones, where sums may cancel. The CPU accumulates in float64, the GPU in f32.
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { matmul, rmsnorm, silu } from '../cpu/ops.ts';
import { halfToFloat } from '../checkpoint/dtype.ts';
import { requestNodeDevice, type NodeGpu } from '../../tests/gpu/node-webgpu.ts';
import { noAdapter, noSubgroups } from '../../tests/gpu/ci-policy.ts';
import { GpuError, copy, createEmpty, createPipeline, createStorage, createUniform, readBuffer, readF32, submit, validated, type Pass } from './gpu.ts';
import { floatToHalf, packF16, unpackF16 } from './f16.ts';
import { createKernels, disposeKernels, kvWords, planAdd, planExperts, planLinear, planQkv, planRouter, routerRules, stepWords, type Kernels } from './kernels.ts';
import { linearTwin, qkvTwin } from './twins.ts';
import { parityError, randn } from '../../tests/gpu/numbers.ts';

// ---- helpers

function report(kernel: string, err: number): void {
  console.log(`[webgpu:parity] ${kernel}: max err ${err.toExponential(2)}`);
}

// ---- f16 packing (host only)

describe('f16 packing', () => {
  it('rounds every finite half back to itself', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue; // NaN payloads are not kept
      if (floatToHalf(halfToFloat(h)) !== h) throw new Error(`half 0x${h.toString(16)} does not round-trip`);
    }
  });

  it('rounds to nearest, ties to even, between every pair of neighbouring positive halves', () => {
    const f = new Float32Array(1), u = new Uint32Array(f.buffer);
    for (let h = 0; h < 0x7bff; h++) {
      f[0] = (halfToFloat(h) + halfToFloat(h + 1)) / 2; // exact in float32: 12 significant bits
      const tie = u[0];
      if (floatToHalf(f[0]) !== (h % 2 === 0 ? h : h + 1)) throw new Error(`the midpoint after 0x${h.toString(16)} must round to even`);
      u[0] = tie - 1;
      if (floatToHalf(f[0]) !== h) throw new Error(`below the midpoint after 0x${h.toString(16)} must round down`);
      u[0] = tie + 1;
      if (floatToHalf(f[0]) !== h + 1) throw new Error(`above the midpoint after 0x${h.toString(16)} must round up`);
    }
  });

  it('overflows to infinity, underflows to signed zero and keeps NaN', () => {
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(65519.99)).toBe(0x7bff);
    expect(floatToHalf(65520)).toBe(0x7c00); // the midpoint to the next power of two rounds up (even)
    expect(floatToHalf(-1e6)).toBe(0xfc00);
    expect(floatToHalf(Infinity)).toBe(0x7c00);
    expect(floatToHalf(2 ** -25)).toBe(0); // half of the smallest subnormal: ties to even 0
    expect(floatToHalf(-(2 ** -25) * 1.0001)).toBe(0x8001);
    expect(floatToHalf(-1e-10)).toBe(0x8000);
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
  });

  it('packs element 2i in the low half of word i and unpacks exactly', () => {
    expect([...packF16([1, -2, 0.5, 65504])]).toEqual([0xc0003c00, 0x7bff3800]);
    expect([...unpackF16(packF16([1, -2, 0.5, 65504]))]).toEqual([1, -2, 0.5, 65504]);
    expect(() => packF16([1, 2, 3])).toThrow(RangeError);
  });
});

// ---- kernels on Dawn

describe('WebGPU kernels match their CPU twins (Dawn)', () => {
  let gpu: NodeGpu | { reason: string };
  let k: Kernels;
  /** The same device's workgroup-reduction kernels (what adapters without `subgroups` run). */
  let kw: Kernels;
  const made: GPUBuffer[] = [];

  beforeAll(async () => {
    gpu = await requestNodeDevice();
    if (!('reason' in gpu)) [k, kw] = await Promise.all([createKernels(gpu.device), createKernels(gpu.device, { subgroups: false })]);
  });
  afterAll(() => {
    for (const b of made) b.destroy();
    if (k) { disposeKernels(k); disposeKernels(kw); }
    if (gpu && !('reason' in gpu)) gpu.device.destroy();
  });

  /** The compiled kernels, or a skip (outside CI) / failure (in CI) when there is no adapter. */
  function kernels(ctx: TestContext): Kernels {
    if ('reason' in gpu) noAdapter('WebGPU kernels (Dawn)', gpu.reason, (m) => ctx.skip(m));
    return k;
  }
  /** The kernel set under test: the subgroup one must have its subgroup kernels (in CI, always). */
  function kernelSet(ctx: TestContext, subgroups: boolean): Kernels {
    kernels(ctx);
    if (subgroups && !k.subgroups) noSubgroups('WebGPU kernels (Dawn)', (m) => ctx.skip(m));
    return subgroups ? k : kw;
  }
  const upload = (label: string, data: ArrayBufferView) => { const b = createStorage(k.device, label, data); made.push(b); return b; };
  const empty = (label: string, floats: number) => { const b = createEmpty(k.device, label, 4 * Math.max(4, floats)); made.push(b); return b; };
  const uniform = (words: Uint32Array) => { const b = createUniform(k.device, 'step', [...words]); made.push(b); return b; };

  /** Plan inside a validation scope, submit, read `n` floats of `out`. */
  async function run(planner: () => Pass[], out: GPUBuffer, n: number): Promise<Float32Array> {
    const passes = await validated(k.device, 'plan', planner);
    await submit(k.device, passes);
    return readF32(k.device, out, n);
  }
  const setName = (subgroups: boolean) => (subgroups ? 'subgroups' : 'workgroup reduction');

  // Widths of whole 16-byte weight words (In % 8 == 0 for f16, In % 4 == 0 for f32) take the
  // subgroup kernels, other widths the workgroup-reduction ones; T = 9 and T = 3 leave a partial
  // block of the 8-token prefill variant, N = 97 and 33 a partial group of rows.
  const shapes = [[1, 250, 97], [3, 250, 97], [4, 64, 33], [1, 256, 97], [9, 256, 97], [3, 96, 40], [2, 100, 20]] as const;
  for (const subgroups of [true, false]) {
    for (const [T, In, N] of shapes) {
      for (const dtype of ['f32', 'f16'] as const) {
        it(`linear_${dtype} matches within 1e-5${dtype === 'f16' ? ' against the same halves decoded' : ''} (T=${T}, In=${In}, N=${N}, ${setName(subgroups)})`, async (ctx) => {
          const ks = kernelSet(ctx, subgroups);
          const x = randn(T * In, 3 + (dtype === 'f16' ? 2 : 0));
          const wf = randn(N * In, 4 + (dtype === 'f16' ? 2 : 0), 1 / Math.sqrt(In));
          const w = dtype === 'f16' ? packF16(wf) : wf;
          const cpu = linearTwin({ x, w: dtype === 'f16' ? unpackF16(w as Uint32Array) : wf, T, In, N }).out;
          const out = empty('out', T * N);
          const got = await run(() => {
            const pass = planLinear(ks, { x: upload('x', x), w: upload('w', w), out, T, In, N, dtype });
            expect(pass.kernel).toBe(subgroups && In % (dtype === 'f16' ? 8 : 4) === 0 ? 'linear_subgroup' : 'linear');
            return [pass];
          }, out, T * N);
          const err = parityError(got, cpu);
          report(`linear_${dtype} T=${T} In=${In} N=${N} (${setName(subgroups)})`, err);
          expect(err).toBeLessThanOrEqual(1e-5);
        });
      }
    }
  }

  // The fused neighbours: the RMSNorm before (lm_head's final norm, with its xn written) and the
  // residual add after (o_proj), against the CPU's separate steps.
  for (const subgroups of [true, false]) {
    for (const [T, In, N] of [[1, 256, 97], [9, 256, 97], [3, 250, 40]] as const) {
      it(`linear with the RMSNorm folded in, and with the residual add, matches within 1e-5 (T=${T}, In=${In}, N=${N}, ${setName(subgroups)})`, async (ctx) => {
        const ks = kernelSet(ctx, subgroups);
        const eps = 1e-5;
        const x = randn((T + 2) * In, 21, 3), g = randn(In, 22), wf = randn(N * In, 23, 1 / Math.sqrt(In)), res = randn(T * N, 24);
        const w = packF16(wf), wd = unpackF16(w);
        // Rows 2 .. T + 1 of x (xRow0, as lm_head reads the last rows).
        const rows = x.subarray(2 * In);
        const norm = linearTwin({ x: rows, g, eps, w: wd, T, In, N });
        const resid = linearTwin({ x: rows, w: wd, T, In, N, res });
        const [out, xn, out2, y] = [empty('out', T * N), empty('xn', T * In), empty('out2', T * N), empty('y', T * N)];
        const bx = upload('x', x), bw = upload('w', w);
        await run(() => [
          planLinear(ks, { x: bx, g: upload('g', g), eps, xn, w: bw, out, T, In, N, dtype: 'f16', xRow0: 2 }),
          planLinear(ks, { x: bx, w: bw, res: upload('res', res), y, out: out2, T, In, N, dtype: 'f16', xRow0: 2 }),
        ], out, 1);
        const errs = [
          parityError(await readF32(k.device, out, T * N), norm.out), parityError(await readF32(k.device, xn, T * In), norm.xn),
          parityError(await readF32(k.device, out2, T * N), resid.out), parityError(await readF32(k.device, y, T * N), resid.y),
        ];
        report(`linear+norm, linear+residual T=${T} In=${In} N=${N} (${setName(subgroups)})`, Math.max(...errs));
        for (const e of errs) expect(e).toBeLessThanOrEqual(1e-5);
      });
    }
  }

  it('linear f16 with subgroups unpacks every finite half exactly, at each place in a 16-byte word', async (ctx) => {
    const ks = kernelSet(ctx, true);
    // W (N, 8) holds each finite half once; x row t picks column t, so out[t, n] = W[n, t].
    const finite: number[] = [];
    for (let h = 0; h < 0x10000; h++) if ((h & 0x7c00) !== 0x7c00) finite.push(h);
    const N = finite.length / 8, In = 8;
    const words = Uint32Array.from({ length: 4 * N }, (_, i) => (finite[2 * i] | (finite[2 * i + 1] << 16)) >>> 0);
    const w = upload('w', words);
    for (const T of [1, 8]) { // the decode variant, and the 8-token block
      const x = Float32Array.from({ length: T * In }, (_, i) => (i % In === Math.floor(i / In) ? 1 : 0));
      const out = empty('out', T * N);
      const got = await run(() => [planLinear(ks, { x: upload('x', x), w, out, T, In, N, dtype: 'f16' })], out, T * N);
      let mismatches = 0;
      for (let t = 0; t < T; t++) for (let n = 0; n < N; n++) if (got[t * N + n] !== halfToFloat(finite[8 * n + t])) mismatches++;
      expect(mismatches, `T=${T}`).toBe(0);
    }
  });

  it('linear f16 unpacks every finite half exactly, over a grid folded into y', async (ctx) => {
    kernels(ctx);
    // Workgroups of one invocation keep ~10^5 workgroups cheap on SwiftShader, and check that
    // the reductions hold for any power-of-two WG.
    const k1 = await createKernels(k.device, { wg: 1, subgroups: false });
    // W (N, 2) holds each finite half once; x rows pick one column: (1,0), (0,1), (1,0).
    const finite: number[] = [];
    for (let h = 0; h < 0x10000; h++) if ((h & 0x7c00) !== 0x7c00) finite.push(h);
    const N = finite.length / 2, T = 3, In = 2;
    const words = Uint32Array.from({ length: N }, (_, n) => (finite[2 * n] | (finite[2 * n + 1] << 16)) >>> 0);
    const x = new Float32Array([1, 0, 0, 1, 1, 0]);
    const out = empty('out', T * N);
    const got = await run(() => {
      const pass = planLinear(k1, { x: upload('x', x), w: upload('w', words), out, T, In, N, dtype: 'f16' });
      expect(pass.workgroups[1]).toBeGreaterThan(1); // T * N > 65535: the fold is exercised
      return [pass];
    }, out, T * N);
    let mismatches = 0;
    for (let n = 0; n < N; n++) {
      const a = halfToFloat(finite[2 * n]), b = halfToFloat(finite[2 * n + 1]);
      // Signed zeros may lose their sign in the sum with 0 * w; compare values.
      if (got[n] !== a || got[N + n] !== b || got[2 * N + n] !== a) mismatches++;
    }
    expect(mismatches).toBe(0);
    disposeKernels(k1);
  });

  // q, k and v with the RMSNorm before and the rotary embedding after, appended to the cache.
  for (const subgroups of [true, false]) {
    for (const [T, D, pos0, theta, f16KV] of [[1, 64, 0, 10000, false], [9, 64, 1000, 1e6, false], [3, 100, 32000, 1e6, false], [2, 64, 7, 1e4, true]] as const) {
      it(`qkv matches rmsnorm, q/k/v projections and rope within 1e-5, and fills the ${f16KV ? 'f16' : 'f32'} cache (T=${T}, D=${D}, pos0=${pos0}, theta=${theta}, ${setName(subgroups)})`, async (ctx) => {
        const base = kernelSet(ctx, subgroups);
        const ks = f16KV ? await createKernels(k.device, { subgroups, f16KV: true }) : base;
        const H = 3, Hkv = 1, Dh = 32, eps = 1e-5, capacity = pos0 + T + 3;
        const x = randn(T * D, 31, 2), g = randn(D, 32);
        const [wq, wk, wv] = [H * Dh, Hkv * Dh, Hkv * Dh].map((n, i) => randn(n * D, 33 + i, 1 / Math.sqrt(D)));
        const cpu = qkvTwin({ x, g, eps, wq: unpackF16(packF16(wq)), wk: unpackF16(packF16(wk)), wv: unpackF16(packF16(wv)), T, D, H, Hkv, Dh, pos0, theta });
        const qkv = empty('qkv', T * (H + 2 * Hkv) * Dh), kv = empty('kv', 2 * kvWords(ks, capacity, Hkv, Dh));
        const got = await run(() => {
          const pass = planQkv(ks, { x: upload('x', x), g: upload('g', g), eps, wq: upload('wq', packF16(wq)), wk: upload('wk', packF16(wk)), wv: upload('wv', packF16(wv)),
            qkv, kv, T, D, H, Hkv, Dh, theta, capacity, step: uniform(stepWords({ pos0, S: pos0 + T, splits: 1, draw: 0 })) });
          expect(pass.kernel).toBe(subgroups && D % 8 === 0 ? 'qkv_subgroup' : 'qkv');
          return [pass];
        }, qkv, T * (H + 2 * Hkv) * Dh);
        const want = new Float32Array([...cpu.q, ...cpu.k, ...cpu.v]);
        const err = parityError(got, want);
        report(`qkv T=${T} D=${D} pos0=${pos0} (${setName(subgroups)}${f16KV ? ', f16 cache' : ''})`, err);
        expect(err).toBeLessThanOrEqual(1e-5);
        // The cache rows pos0.. hold k and v (packed halves: elements i and i + Dh/2 in one word).
        const words = new Uint32Array(await readBuffer(k.device, kv, 4 * 2 * kvWords(ks, capacity, Hkv, Dh)));
        const half = Dh / 2, vAt = kvWords(ks, capacity, Hkv, Dh);
        for (const [src, at] of [[got.subarray(T * H * Dh, T * (H + Hkv) * Dh), 0], [got.subarray(T * (H + Hkv) * Dh), vAt]] as const) {
          for (let t = 0; t < T; t++) for (let i = 0; i < Dh; i++) {
            const v = src[t * Dh + i];
            const cached = f16KV
              ? halfToFloat((words[at + (pos0 + t) * half + (i % half)] >>> (i < half ? 0 : 16)) & 0xffff)
              : new Float32Array(words.buffer)[at + (pos0 + t) * Dh + i];
            expect(cached).toBe(f16KV ? halfToFloat(floatToHalf(v)) : v);
          }
        }
        if (ks !== base) disposeKernels(ks);
      });
    }
  }

  it('add is exact', async (ctx) => {
    kernels(ctx);
    const n = 1000;
    const a = randn(n, 10), b = randn(n, 11);
    const cpu = Float32Array.from(a, (v, i) => v + b[i]);
    const out = empty('out', n);
    const got = await run(() => [planAdd(k, { a: upload('a', a), b: upload('b', b), out, n })], out, n);
    expect(parityError(got, cpu)).toBe(0);
  });

  it('chains passes in one submission: x + W2 silu(W1 rmsnorm(x)) * (W3 rmsnorm(x)), the norm from the router, the add in the experts\' epilogue', async (ctx) => {
    kernels(ctx);
    // One expert forced for both tokens with weight 1: the SwiGLU block on the expert kernels.
    const T = 2, D = 64, F = 96, E = 2, K = 1, eps = 1e-6;
    const x = randn(T * D, 12), ln = randn(D, 13);
    const [w1, w2, w3] = [randn(F * D, 14, 0.125), randn(D * F, 15, 0.1), randn(F * D, 16, 0.125)].map(packF16);
    const xn = new Float32Array(T * D), g = new Float32Array(T * F), u = new Float32Array(T * F), y = new Float32Array(T * D);
    rmsnorm(xn, x, ln, T, D, eps);
    matmul(g, xn, unpackF16(w1), T, D, F);
    matmul(u, xn, unpackF16(w3), T, D, F);
    for (let i = 0; i < g.length; i++) g[i] = silu(g[i]) * u[i];
    matmul(y, g, unpackF16(w2), T, F, D);
    const cpu = Float32Array.from(x, (v, i) => v + y[i]);
    const two = (w: Uint32Array) => { const b = new Uint32Array(2 * w.length); b.set(w); return upload('w', b); }; // experts 0 (used) and 1
    const bx = upload('x', x), bxn = empty('xn', T * D), choice = empty('choice', 2 * T * K), out = empty('out', T * D);
    const step = uniform(stepWords({ pos0: 0, S: T, splits: 1, draw: 0 }));
    const rules = upload('rules', routerRules(E, K, { bias: null, ablated: new Set(), force: [{ experts: [0], weights: [1] }] }));
    const got = await run(() => [
      planRouter(k, { T, D, E, K, eps, x: bx, g: upload('ln', ln), gate: upload('gate', new Float32Array(E * D)), rules, xn: bxn, logits: empty('l', T * E), probs: empty('p', T * E), choice, step }),
      ...planExperts(k, { T, K, D, F, x: bxn, choice, w1: two(w1), w3: two(w3), w2: two(w2), h: empty('h', T * F), res: bx, expertOut: empty('eo', T * D), mlpOut: empty('mlp', T * D), out }),
    ], out, T * D);
    const err = parityError(got, cpu);
    report('chained MLP block', err);
    expect(err).toBeLessThanOrEqual(1e-5);
  });

  it('one submission runs passes and copies in order, timed pass by pass or as a whole, without quantized timestamps', async (ctx) => {
    kernels(ctx);
    if (!k.device.features.has('timestamp-query')) return ctx.skip('this adapter has no timestamp-query');
    const n = 1000;
    const a = randn(n, 17), b = randn(n, 18);
    const ab = upload('a', a), bb = upload('b', b), c = empty('c', n), held = empty('held', n);
    // c = a + b; held = c; c = held + b; a = c + held; held = b; c = a + held, in four compute passes between the copies
    const steps = await validated(k.device, 'plan', () => [
      planAdd(k, { a: ab, b: bb, out: c, n }), copy(c, 0, held, 0, 4 * n), planAdd(k, { a: held, b: bb, out: c, n }), planAdd(k, { a: c, b: held, out: ab, n }),
      copy(bb, 0, held, 0, 4 * n), planAdd(k, { a: ab, b: held, out: c, n }),
    ]);
    const each = await submit(k.device, steps, { timestamps: 'each' });
    const whole = await submit(k.device, steps, { timestamps: 'all' });
    expect(each?.length).toBe(4);
    expect(whole?.length).toBe(1);
    for (const t of [...each!, ...whole!]) expect(t).toBeGreaterThanOrEqual(0);
    // Dawn rounds timestamps to 65,536 ns unless told not to (tests/gpu/node-webgpu.ts does).
    expect([...each!, ...whole!].some((ms) => Math.round(ms * 1e6) % 65536 !== 0)).toBe(true);
    // Two runs on the CPU, the same steps in order.
    const A = Float64Array.from(a), B = Float64Array.from(b), C = new Float64Array(n), Hd = new Float64Array(n);
    for (let r = 0; r < 2; r++) {
      for (let i = 0; i < n; i++) {
        C[i] = Math.fround(A[i] + B[i]); Hd[i] = C[i]; C[i] = Math.fround(Hd[i] + B[i]); A[i] = Math.fround(C[i] + Hd[i]); Hd[i] = B[i]; C[i] = Math.fround(A[i] + Hd[i]);
      }
    }
    expect(parityError(await readF32(k.device, c, n), Float32Array.from(C))).toBe(0);
  });

  it('rejects bad shapes on the host and bad WGSL with a GpuError', async (ctx) => {
    kernels(ctx);
    const small = empty('small', 4);
    expect(() => planLinear(k, { x: small, w: small, out: small, T: 1, In: 3, N: 1, dtype: 'f16' })).toThrow(/In must be even/);
    expect(() => planAdd(k, { a: small, b: small, out: small, n: 50 })).toThrow(GpuError);
    await expect(createPipeline(k.device, 'broken', '@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }')).rejects.toThrow(GpuError);
  });
});

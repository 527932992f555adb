// Parity of every WebGPU kernel with its CPU twin in engine/cpu/ops.ts, run on Dawn in Node
// (SwiftShader when there is no GPU). Inputs are seeded random numbers of odd sizes, so strided
// loops, partial workgroups and tails are all exercised.
// Tolerance: err = max_i |gpu_i - cpu_i| / max(1, |cpu_i|), relative for large outputs and
// absolute for small ones, where sums may cancel. The CPU accumulates in float64, the GPU in f32.
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { addInPlace, matmul, rmsnorm, rope, silu } from '../cpu/ops.ts';
import { halfToFloat } from '../checkpoint/dtype.ts';
import { requestNodeDevice, type NodeGpu } from '../../tests/gpu/node-webgpu.ts';
import { noAdapter, noSubgroups } from '../../tests/gpu/ci-policy.ts';
import { GpuError, copy, createEmpty, createPipeline, createStorage, readF32, submit, validated, type Pass } from './gpu.ts';
import { floatToHalf, packF16, unpackF16 } from './f16.ts';
import { createKernels, planAdd, planExperts, planMatmul, planRmsnorm, planRope, type Kernels, type PipelineName } from './kernels.ts';

// ---- helpers

/** Seeded normal-ish floats (mulberry32 + Box-Muller), rounded to float32. */
function randn(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 2 ** 32;
  };
  return Float32Array.from({ length: n }, () => scale * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

function parityError(gpu: Float32Array, cpu: Float32Array): number {
  expect(gpu.length).toBe(cpu.length);
  let err = 0;
  for (let i = 0; i < cpu.length; i++) err = Math.max(err, Math.abs(gpu[i] - cpu[i]) / Math.max(1, Math.abs(cpu[i])));
  return err;
}

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
    if (gpu && !('reason' in gpu)) gpu.device.destroy();
  });

  /** The compiled kernels, or a skip (outside CI) / failure (in CI) when there is no adapter. */
  function kernels(ctx: TestContext): Kernels {
    if ('reason' in gpu) noAdapter('WebGPU kernels (Dawn)', gpu.reason, (m) => ctx.skip(m));
    return k;
  }
  const upload = (label: string, data: ArrayBufferView) => { const b = createStorage(k.device, label, data); made.push(b); return b; };
  const empty = (label: string, floats: number) => { const b = createEmpty(k.device, label, 4 * floats); made.push(b); return b; };

  /** Plan inside a validation scope, submit, read `n` floats of `out`. */
  async function run(planner: () => Pass[], out: GPUBuffer, n: number): Promise<Float32Array> {
    const passes = await validated(k.device, 'plan', planner);
    await submit(k.device, passes);
    return readF32(k.device, out, n);
  }

  for (const subgroups of [true, false]) {
    it(`rmsnorm matches within 1e-5 (${subgroups ? 'subgroups' : 'workgroup reduction'})`, async (ctx) => {
      const ks = kernelSet(ctx, subgroups);
      const T = 37, D = 200, eps = 1e-5; // 37 rows: a partial block of rows on any subgroup size
      const x = randn(T * D, 1, 3), w = randn(D, 2);
      const cpu = new Float32Array(T * D);
      rmsnorm(cpu, x, w, T, D, eps);
      const out = empty('out', T * D);
      const got = await run(() => {
        const pass = planRmsnorm(ks, { x: upload('x', x), w: upload('w', w), out, T, D, eps });
        expect(pass.pipeline).toBe(ks.pipelines[subgroups ? 'rmsnorm_subgroup' : 'rmsnorm']);
        return [pass];
      }, out, T * D);
      const err = parityError(got, cpu);
      report(`rmsnorm T=${T} D=${D} (${subgroups ? 'subgroups' : 'workgroup reduction'})`, err);
      expect(err).toBeLessThanOrEqual(1e-5);
    });
  }

  /** The kernel set under test: the subgroup one must have its subgroup kernels (in CI, always). */
  function kernelSet(ctx: TestContext, subgroups: boolean): Kernels {
    kernels(ctx);
    if (subgroups && !k.subgroups) noSubgroups('WebGPU kernels (Dawn)', (m) => ctx.skip(m));
    return subgroups ? k : kw;
  }

  // Widths of whole 16-byte weight words (In % 8 == 0 for f16, In % 4 == 0 for f32) take the
  // subgroup kernels, other widths the workgroup-reduction ones; T = 9 and T = 3 leave a partial block of the 8-token prefill variant.
  const shapes = [[1, 250, 97], [3, 250, 97], [4, 64, 33], [1, 256, 97], [9, 256, 97], [3, 96, 40], [2, 100, 20]] as const;
  for (const subgroups of [true, false]) {
    for (const [T, In, N] of shapes) {
      for (const dtype of ['f32', 'f16'] as const) {
        const set = subgroups ? 'subgroups' : 'workgroup reduction';
        it(`matmul_${dtype} matches within 1e-5${dtype === 'f16' ? ' against the same halves decoded' : ''} (T=${T}, In=${In}, N=${N}, ${set})`, async (ctx) => {
          const ks = kernelSet(ctx, subgroups);
          const x = randn(T * In, 3 + (dtype === 'f16' ? 2 : 0));
          const wf = randn(N * In, 4 + (dtype === 'f16' ? 2 : 0), 1 / Math.sqrt(In));
          const w = dtype === 'f16' ? packF16(wf) : wf;
          const cpu = new Float32Array(T * N);
          matmul(cpu, x, dtype === 'f16' ? unpackF16(w as Uint32Array) : wf, T, In, N);
          const out = empty('out', T * N);
          const got = await run(() => {
            const pass = planMatmul(ks, { x: upload('x', x), w: upload('w', w), out, T, In, N, dtype });
            const viaSubgroups = subgroups && In % (dtype === 'f16' ? 8 : 4) === 0;
            const name = viaSubgroups ? `matmul_subgroup_${dtype}${T > 1 ? '_block' : ''}` : `matmul_${dtype}`;
            expect(pass.pipeline, name).toBe(ks.pipelines[name as PipelineName]);
            return [pass];
          }, out, T * N);
          const err = parityError(got, cpu);
          report(`matmul_${dtype} T=${T} In=${In} N=${N} (${set})`, err);
          expect(err).toBeLessThanOrEqual(1e-5);
        });
      }
    }
  }

  it('matmul_f16 with subgroups unpacks every finite half exactly, at each place in a 16-byte word', async (ctx) => {
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
      const got = await run(() => [planMatmul(ks, { x: upload('x', x), w, out, T, In, N, dtype: 'f16' })], out, T * N);
      let mismatches = 0;
      for (let t = 0; t < T; t++) for (let n = 0; n < N; n++) if (got[t * N + n] !== halfToFloat(finite[8 * n + t])) mismatches++;
      expect(mismatches, `T=${T}`).toBe(0);
    }
  });

  it('matmul_f16 unpacks every finite half exactly, over a grid folded into y', async (ctx) => {
    kernels(ctx);
    // Workgroups of one invocation keep ~10^5 workgroups cheap on SwiftShader, and check that
    // the reductions hold for any power-of-two WG.
    const k1 = await createKernels(k.device, { wg: 1 });
    // W (N, 2) holds each finite half once; x rows pick one column: (1,0), (0,1), (1,0).
    const finite: number[] = [];
    for (let h = 0; h < 0x10000; h++) if ((h & 0x7c00) !== 0x7c00) finite.push(h);
    const N = finite.length / 2, T = 3, In = 2;
    const words = Uint32Array.from({ length: N }, (_, n) => (finite[2 * n] | (finite[2 * n + 1] << 16)) >>> 0);
    const x = new Float32Array([1, 0, 0, 1, 1, 0]);
    const out = empty('out', T * N);
    const got = await run(() => {
      const pass = planMatmul(k1, { x: upload('x', x), w: upload('w', words), out, T, In, N, dtype: 'f16' });
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
  });

  for (const [pos0, theta] of [[0, 10000], [1000, 1e6], [32000, 1e6]] as const) {
    it(`rope matches within 1e-5 (pos0=${pos0}, theta=${theta})`, async (ctx) => {
      kernels(ctx);
      const T = 4, heads = 3, Dh = 32;
      const x = randn(T * heads * Dh, 7 + pos0);
      const cpu = x.slice();
      rope(cpu, T, heads, Dh, pos0, theta);
      const buf = upload('x', x);
      const got = await run(() => [planRope(k, { x: buf, T, heads, Dh, pos0, theta })], buf, x.length);
      const err = parityError(got, cpu);
      report(`rope pos0=${pos0} theta=${theta}`, err);
      expect(err).toBeLessThanOrEqual(1e-5);
    });
  }

  it('add is exact', async (ctx) => {
    kernels(ctx);
    const n = 1000;
    const a = randn(n, 10), b = randn(n, 11);
    const cpu = a.slice();
    addInPlace(cpu, b);
    const ab = upload('out', a);
    const got = await run(() => [planAdd(k, { out: ab, x: upload('x', b), n })], ab, n);
    expect(parityError(got, cpu)).toBe(0);
  });

  it('chains passes in one submission: x + W2 silu(W1 rmsnorm(x)) * (W3 rmsnorm(x))', async (ctx) => {
    kernels(ctx);
    // One expert chosen by both tokens with weight 1: the SwiGLU block, on the expert kernels.
    const T = 2, D = 64, F = 96, eps = 1e-6;
    const x = randn(T * D, 12), ln = randn(D, 13);
    const [w1, w2, w3] = [randn(F * D, 14, 0.125), randn(D * F, 15, 0.1), randn(F * D, 16, 0.125)].map(packF16);
    const xn = new Float32Array(T * D), g = new Float32Array(T * F), u = new Float32Array(T * F), y = new Float32Array(T * D);
    rmsnorm(xn, x, ln, T, D, eps);
    matmul(g, xn, unpackF16(w1), T, D, F);
    matmul(u, xn, unpackF16(w3), T, D, F);
    for (let i = 0; i < g.length; i++) g[i] = silu(g[i]) * u[i];
    matmul(y, g, unpackF16(w2), T, F, D);
    const cpu = x.slice();
    addInPlace(cpu, y);

    const bx = upload('x', x), bxn = empty('xn', T * D), by = empty('y', T * D);
    const got = await run(() => [
      planRmsnorm(k, { x: bx, w: upload('ln', ln), out: bxn, T, D, eps }),
      ...planExperts(k, { T, K: 1, D, F, x: bxn, idx: upload('idx', new Uint32Array(T)), weights: upload('weights', new Float32Array(T).fill(1)),
        w1: upload('w1', w1), w3: upload('w3', w3), w2: upload('w2', w2), h: empty('h', T * F), expertOut: empty('expert out', T * D), out: by }),
      planAdd(k, { out: bx, x: by, n: T * D }),
    ], bx, T * D);
    const err = parityError(got, cpu);
    report('chained MLP block', err);
    expect(err).toBeLessThanOrEqual(1e-5);
  });

  it('one submission runs passes and copies in order, timed pass by pass or as a whole', async (ctx) => {
    kernels(ctx);
    if (!k.device.features.has('timestamp-query')) return ctx.skip('this adapter has no timestamp-query');
    const n = 1000;
    const a = randn(n, 17), b = randn(n, 18);
    const ab = upload('a', a), bb = upload('b', b), held = empty('held', n);
    // a += b; held = a; a += b; a += held; held = b; a += held: (a + b) + b + (a + b) + b = 2a + 4b,
    // in three compute passes between the copies
    const steps = await validated(k.device, 'plan', () => [
      planAdd(k, { out: ab, x: bb, n }), copy(ab, 0, held, 0, 4 * n), planAdd(k, { out: ab, x: bb, n }), planAdd(k, { out: ab, x: held, n }),
      copy(bb, 0, held, 0, 4 * n), planAdd(k, { out: ab, x: held, n }),
    ]);
    const each = await submit(k.device, steps, { timestamps: 'each' });
    const whole = await submit(k.device, steps, { timestamps: 'all' });
    expect(each?.length).toBe(4);
    expect(whole?.length).toBe(1);
    for (const t of [...each!, ...whole!]) expect(t).toBeGreaterThanOrEqual(0);
    // Run twice: a -> 2a + 4b -> 2(2a + 4b) + 4b.
    const got = await readF32(k.device, ab, n);
    const cpu = Float32Array.from(a, (v, i) => 4 * v + 12 * b[i]);
    expect(parityError(got, cpu)).toBeLessThanOrEqual(1e-6);
  });

  it('rejects bad shapes on the host and bad WGSL with a GpuError', async (ctx) => {
    kernels(ctx);
    const small = empty('small', 4);
    expect(() => planMatmul(k, { x: small, w: small, out: small, T: 1, In: 3, N: 1, dtype: 'f16' })).toThrow(/In must be even/);
    expect(() => planAdd(k, { out: small, x: small, n: 5 })).toThrow(GpuError);
    await expect(createPipeline(k.device, 'broken', '@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }')).rejects.toThrow(GpuError);
  });
});

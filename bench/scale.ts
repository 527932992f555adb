// Scale mode: one decoder layer with Mixtral-8x7B's real dimensions (hidden 4096, expert width
// 14336, 32 query / 8 key-value heads, 8 experts, top-2), random F16 weights, run through the
// WebGPU engine's own kernels as a decode step. Reports time per layer and the memory bandwidth
// achieved (bytes of weights a token actually reads / time) as a fraction of the device's own
// copy bandwidth measured in the same run.
//
// Napkin maths per token per layer: attention 2 x (4096x4096 + 2 x 1024x4096 + 4096x4096) bytes
// = 84 MB, router 128 KB, two experts 2 x 3 x 4096 x 14336 x 2 bytes = 705 MB: ~789 MB read.
import { createEmpty, createStorage, releasePasses, submit, validated, type Pass } from '../engine/webgpu/gpu.ts';
import { createKernels, planAdd, planAttention, planExperts, planMatmul, planRmsnorm, planRope, planRouter, routerRules } from '../engine/webgpu/kernels.ts';

export const MIXTRAL_8X7B = { D: 4096, F: 14336, H: 32, Hkv: 8, Dh: 128, E: 8, K: 2, window: 4096 };

/** A storage buffer of `words` random halves pairs, written in chunks (values in about [-1, 1]). */
function randomHalves(device: GPUDevice, label: string, words: number, seed: number): GPUBuffer {
  const buffer = createEmpty(device, label, 4 * words);
  const chunk = 1 << 22;
  let s = seed >>> 0;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; return s >>> 0; };
  // sign, exponent 9..14 (2^-6 .. 2^-1), random mantissa: finite, no subnormals
  const half = () => { const r = next(); return ((r & 1) << 15) | ((9 + (r >>> 1) % 6) << 10) | ((r >>> 4) & 0x3ff); };
  for (let at = 0; at < words; at += chunk) {
    const n = Math.min(chunk, words - at);
    const a = new Uint32Array(n);
    for (let i = 0; i < n; i++) a[i] = half() | (half() << 16);
    device.queue.writeBuffer(buffer, 4 * at, a);
  }
  return buffer;
}

/**
 * GPU time of `passes` from timestamp queries (milliseconds): all of them in one compute pass
 * (`whole`), and each in a pass of its own (`each`, in order). Null without timestamp-query.
 */
async function gpuTimes(device: GPUDevice, passes: Pass[]): Promise<{ whole: number; each: number[] } | null> {
  if (!device.features.has('timestamp-query')) return null;
  const n = passes.length + 1;
  const set = device.createQuerySet({ type: 'timestamp', count: 2 * n });
  const resolve = device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  const record = (list: Pass[], q: number) => {
    const pass = enc.beginComputePass({ timestampWrites: { querySet: set, beginningOfPassWriteIndex: 2 * q, endOfPassWriteIndex: 2 * q + 1 } });
    for (const p of list) { pass.setPipeline(p.pipeline); pass.setBindGroup(0, p.bindGroup); pass.dispatchWorkgroups(...p.workgroups); }
    pass.end();
  };
  record(passes, 0);
  passes.forEach((p, i) => record([p], i + 1));
  enc.resolveQuerySet(set, 0, 2 * n, resolve, 0);
  enc.copyBufferToBuffer(resolve, 0, read, 0, 16 * n);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const t = new BigUint64Array(read.getMappedRange().slice(0));
  read.destroy(); resolve.destroy(); set.destroy();
  const ms = (i: number) => Number(t[2 * i + 1] - t[2 * i]) / 1e6;
  return { whole: ms(0), each: passes.map((_, i) => ms(i + 1)) };
}

async function timeSubmit(device: GPUDevice, passes: Pass[]): Promise<number> {
  const t = performance.now();
  await submit(device, passes);
  await device.queue.onSubmittedWorkDone();
  return performance.now() - t;
}

/** Peak copy bandwidth of the device (bytes/s): read + write of a 256 MB buffer. */
async function copyBandwidth(device: GPUDevice): Promise<number> {
  const bytes = 256 << 20;
  const a = createEmpty(device, 'bw a', bytes), b = createEmpty(device, 'bw b', bytes);
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(a, 0, b, 0, bytes);
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    best = Math.min(best, performance.now() - t);
  }
  a.destroy(); b.destroy();
  return (2 * bytes) / (best / 1000);
}

export async function scaleBench(device: GPUDevice, tokens = 3, context = 64): Promise<Record<string, unknown>> {
  const { D, F, H, Hkv, Dh, E, K, window } = MIXTRAL_8X7B;
  const k = await createKernels(device, { f16Weights: true });
  const w = await validated(device, 'scale weights', () => ({
    inNorm: createStorage(device, 'in norm', new Float32Array(D).fill(1)),
    postNorm: createStorage(device, 'post norm', new Float32Array(D).fill(1)),
    q: randomHalves(device, 'q', (H * Dh * D) / 2, 1), kk: randomHalves(device, 'k', (Hkv * Dh * D) / 2, 2),
    v: randomHalves(device, 'v', (Hkv * Dh * D) / 2, 3), o: randomHalves(device, 'o', (D * H * Dh) / 2, 4),
    gate: createStorage(device, 'gate', Float32Array.from({ length: E * D }, (_, i) => Math.sin(i) * 0.05)),
    w1: randomHalves(device, 'w1', (E * F * D) / 2, 5), w3: randomHalves(device, 'w3', (E * F * D) / 2, 6),
    w2: randomHalves(device, 'w2', (E * D * F) / 2, 7),
  }));
  const kc = createEmpty(device, 'k cache', 4 * (context + tokens) * Hkv * Dh), vc = createEmpty(device, 'v cache', 4 * (context + tokens) * Hkv * Dh);
  const buf = (n: number) => createEmpty(device, 'scratch', 4 * n);
  const x = createStorage(device, 'x', Float32Array.from({ length: D }, (_, i) => Math.cos(i))), xn = buf(D), q = buf(H * Dh), kk = buf(Hkv * Dh), vv = buf(Hkv * Dh);
  const att = buf(H * (context + tokens)), z = buf(H * Dh), ao = buf(D), logits = buf(E), probs = buf(E), idx = buf(K), wts = buf(K), h = buf(K * F), eo = buf(K * D), mo = buf(D);
  const headScale = createStorage(device, 'scale', new Float32Array(H).fill(1));
  const bias = createStorage(device, 'bias', new Float32Array(E)), ablated = createStorage(device, 'ablated', new Uint32Array(E)), rules = createStorage(device, 'rules', routerRules(K, []));
  const times: number[] = [];
  let gpu: Awaited<ReturnType<typeof gpuTimes>> = null;
  let labels: string[] = [];
  for (let t = 0; t < tokens; t++) {
    const pos0 = context + t, S = pos0 + 1;
    const passes = await validated(device, 'plan', () => [
      planRmsnorm(k, { x, w: w.inNorm, out: xn, T: 1, D, eps: 1e-5 }),
      planMatmul(k, { x: xn, w: w.q, out: q, T: 1, In: D, N: H * Dh, dtype: 'f16' }),
      planMatmul(k, { x: xn, w: w.kk, out: kk, T: 1, In: D, N: Hkv * Dh, dtype: 'f16' }),
      planMatmul(k, { x: xn, w: w.v, out: vv, T: 1, In: D, N: Hkv * Dh, dtype: 'f16' }),
      planRope(k, { x: q, T: 1, heads: H, Dh, pos0, theta: 1e6 }),
      planRope(k, { x: kk, T: 1, heads: Hkv, Dh, pos0, theta: 1e6 }),
      ...planAttention(k, { T: 1, S, H, Hkv, Dh, pos0, window, q, kcache: kc, vcache: vc, att, headScale, z }),
      planMatmul(k, { x: z, w: w.o, out: ao, T: 1, In: H * Dh, N: D, dtype: 'f16' }),
      planAdd(k, { out: x, x: ao, n: D }),
      planRmsnorm(k, { x, w: w.postNorm, out: xn, T: 1, D, eps: 1e-5 }),
      planMatmul(k, { x: xn, w: w.gate, out: logits, T: 1, In: D, N: E, dtype: 'f32' }),
      planRouter(k, { T: 1, E, K, pos0, bias, ablated, rules, logits, probs, idx, weights: wts }),
      ...planExperts(k, { T: 1, K, D, F, x: xn, idx, weights: wts, w1: w.w1, w3: w.w3, w2: w.w2, h, expertOut: eo, out: mo }),
      planAdd(k, { out: x, x: mo, n: D }),
    ]);
    times.push(await timeSubmit(device, passes));
    if (t === tokens - 1) { gpu = await gpuTimes(device, passes); labels = passes.map((p) => p.label); }
    releasePasses(passes);
  }
  const ms = Math.min(...times.slice(1).length ? times.slice(1) : times);
  const activeBytes = 2 * (H * Dh * D * 2 + Hkv * Dh * D * 2) + 4 * E * D + 2 * K * 3 * D * F;
  const achieved = activeBytes / (ms / 1000);
  const peak = await copyBandwidth(device);
  // Bytes of weights each weight-reading kernel moves, to rate it against the copy bandwidth.
  const weightBytes: Record<string, number> = {
    [`matmul_f16 T=1 In=${D} N=${H * Dh}`]: 2 * H * Dh * D, [`matmul_f16 T=1 In=${D} N=${Hkv * Dh}`]: 2 * Hkv * Dh * D,
    [`matmul_f16 T=1 In=${H * Dh} N=${D}`]: 2 * D * H * Dh, [`experts T=1 K=${K} D=${D} F=${F} gate/up`]: 2 * K * 2 * F * D,
    [`experts T=1 K=${K} D=${D} F=${F} down`]: 2 * K * D * F,
  };
  const kernels = gpu ? labels.map((label, i) => {
    const bytes = weightBytes[label];
    return { kernel: label, ms: +gpu!.each[i].toFixed(4), ...(bytes ? { gb_per_s: +(bytes / (gpu!.each[i] / 1000) / 1e9).toFixed(1) } : {}) };
  }) : 'this adapter has no timestamp-query';
  for (const b of [...Object.values(w), kc, vc, x, xn, q, kk, vv, att, z, ao, logits, probs, idx, wts, h, eo, mo, headScale, bias, ablated, rules]) b.destroy();
  return {
    dims: 'Mixtral-8x7B layer: hidden 4096, expert width 14336, 32/8 heads, 8 experts, top-2, F16 weights',
    kernels: gpu ? `${(k.subgroups ? 'subgroup' : 'workgroup-reduction')} kernels` : 'unknown',
    decode_ms_per_layer: +ms.toFixed(2),
    ...(gpu ? {
      gpu_ms_per_layer: +gpu.whole.toFixed(3),
      gpu_achieved_gb_per_s: +(activeBytes / (gpu.whole / 1000) / 1e9).toFixed(2),
      gpu_fraction_of_copy_bandwidth: +(activeBytes / (gpu.whole / 1000) / peak).toFixed(3),
    } : {}),
    decode_ms_per_token_32_layers: +(32 * ms).toFixed(1),
    active_bytes_per_token_per_layer: activeBytes,
    achieved_gb_per_s: +(achieved / 1e9).toFixed(2),
    device_copy_gb_per_s: +(peak / 1e9).toFixed(2),
    fraction_of_copy_bandwidth: +(achieved / peak).toFixed(3),
    kernel_ms: kernels,
  };
}

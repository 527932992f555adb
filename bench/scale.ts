// Scale mode: one decoder layer with Mixtral-8x7B's real dimensions (hidden 4096, expert width
// 14336, 32 query / 8 key-value heads, 8 experts, top-2, no sliding window), random weights (F16,
// or q8/q4 with `format`: random q values, random finite f16 scales and minimums),
// run through the WebGPU engine's own layer plan (forward.ts: planLayer) as a decode step after
// 64, 1,024 and 4,096 positions of context. Timed by timestamps: the whole layer (median of
// `runs`), and each kernel on its own (median us, with the bytes it moves and its GB/s). The roof
// is measured the same way: a read-only streaming kernel (stream_read.wgsl) over 512 MiB, its
// bandwidth the most a memory-bound layer can reach; beside it, the adapter's published bandwidth
// when known (targets.ts). lm_head (32000 x 4096, the final norm folded in) is timed too, for the
// projection of a whole token: 32 layers + lm_head.
//
// Napkin maths per token per layer: q/k/v/o 2 x (4096x4096 + 2 x 1024x4096 + 4096x4096) bytes =
// 84 MB, router 128 KB, two experts 2 x 3 x 4096 x 14336 x 2 bytes = 705 MB: ~789 MB read; the
// KV cache adds 2 x S x 1024 x 4 bytes (32 MB at 4,096 positions). lm_head: 262 MB. In q8 the
// matrices take 1.0625 bytes a weight (~419 MB a layer), in q4 0.625 (~247 MB): bytesOf counts them.
import { parseConfig, type MixtralConfig } from '../engine/config.ts';
import { interventionsForLayer } from '../engine/hooks/interventions.ts';
import { createEmpty, createStorage, createUniform, submit, validated, write, type Pass, type Step } from '../engine/webgpu/gpu.ts';
import { attentionSplits, createKernels, disposeKernels, kvWords, planLinearParts, planStreamRead, stepWords, type Kernels } from '../engine/webgpu/kernels.ts';
import { NOWHERE, planLayer, scratchFor } from '../engine/webgpu/forward.ts';
import { layerBuffers, type GpuLayer } from '../engine/webgpu/upload.ts';
import { splitRows } from '../engine/webgpu/split.ts';
import { partLayout } from '../engine/webgpu/weight-layout.ts';
import { matrixBytes, type WeightFormat } from '../engine/footprint/formats.ts';
import { publishedBandwidth, scaleTargets, isRealGpu, describeAdapter, type AdapterFacts } from './targets.ts';

/** Mixtral-8x7B's published config (mistralai/Mixtral-8x7B-v0.1 config.json). */
export const MIXTRAL_8X7B: MixtralConfig = parseConfig({
  model_type: 'mixtral', vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32,
  num_attention_heads: 32, num_key_value_heads: 8, num_local_experts: 8, num_experts_per_tok: 2,
  rms_norm_eps: 1e-5, rope_theta: 1e6, sliding_window: null, max_position_embeddings: 32768, tie_word_embeddings: false,
});

const CONTEXTS = [64, 1024, 4096] as const;
const ROOF_BYTES = 512 * 2 ** 20;

/** A storage buffer of `words` random half pairs, written in chunks (values in about [-1, 1]). */
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
 * A (rows, cols) matrix of random weights in `format`'s layout (weight-layout.ts): random half
 * pairs over the whole part, which for q8/q4 are random q values and finite f16 scales and minimums.
 */
const randomMatrix = (device: GPUDevice, label: string, format: WeightFormat, rows: number, cols: number, seed: number) =>
  randomHalves(device, label, partLayout(format, rows, cols).bytes / 4, seed);

/** One decoder layer of `c` with random weights in `format`, laid out as the engine uploads a layer. */
function randomLayer(device: GPUDevice, c: MixtralConfig, format: WeightFormat): GpuLayer {
  const D = c.hidden_size, F = c.intermediate_size, E = c.num_local_experts, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  const m = (label: string, rows: number, cols: number, seed: number) => randomMatrix(device, label, format, rows, cols, seed);
  const experts = (label: string, rows: number, cols: number, seed: number) => [{ buffer: m(label, E * rows, cols, seed), row0: 0, rows: E }];
  return {
    input_layernorm: createStorage(device, 'input_layernorm', new Float32Array(D).fill(1)),
    q_proj: m('q_proj', q, D, 1), k_proj: m('k_proj', kv, D, 2), v_proj: m('v_proj', kv, D, 3), o_proj: m('o_proj', D, q, 4),
    post_attention_layernorm: createStorage(device, 'post_attention_layernorm', new Float32Array(D).fill(1)),
    gate: createStorage(device, 'gate', Float32Array.from({ length: E * D }, (_, i) => Math.sin(i) * 0.05)),
    w1: experts('w1', F, D, 5), w3: experts('w3', F, D, 6), w2: experts('w2', D, F, 7), family: {},
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const gbps = (bytes: number, ms: number) => +(bytes / (ms / 1000) / 1e9).toFixed(2);

/** Bytes a kernel of the layer moves at S positions (weights, and the KV cache for attention): the napkin maths above. */
function bytesOf(kernel: string, c: MixtralConfig, S: number, k: Kernels): number {
  const D = c.hidden_size, F = c.intermediate_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads, Dh = c.head_dim, K = c.num_experts_per_tok, E = c.num_local_experts;
  const m = (rows: number, cols: number) => matrixBytes(k.format, rows, cols);
  switch (kernel) {
    case 'qkv_subgroup': case 'qkv': return m((H + 2 * Hkv) * Dh, D);
    case 'attention_subgroup': case 'attention': return 2 * 4 * kvWords(k, S, Hkv, Dh) + 4 * H * Dh;
    case 'linear_subgroup': case 'linear': return m(D, H * Dh);
    case 'router_subgroup': case 'router': return 4 * E * D;
    case 'moe_gate_up_subgroup': case 'moe_gate_up': return K * 2 * m(F, D);
    case 'moe_down_subgroup': case 'moe_down': return K * m(D, F);
    default: return 0;
  }
}

/**
 * Scale mode on `device`: per context, the layer's GPU time (median of `runs`); at the longest,
 * each kernel's median; the read roof; lm_head; the 32-layer projection.
 */
export async function scaleBench(device: GPUDevice, adapter: AdapterFacts, { runs = 20, format = 'f16' as WeightFormat } = {}): Promise<Record<string, unknown>> {
  if (!device.features.has('timestamp-query')) throw new Error('scale mode times kernels with timestamp queries: this adapter has no timestamp-query');
  const c = MIXTRAL_8X7B;
  const D = c.hidden_size, Hkv = c.num_key_value_heads, Dh = c.head_dim, V = c.vocab_size;
  const k = await createKernels(device, { format });
  const w = await validated(device, 'scale weights', () => randomLayer(device, c, format));
  const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const lmHead = splitRows('lm_head', V, partLayout(format, 1, D).bytes, limit).map((r) => ({ ...r, buffer: randomMatrix(device, `lm_head ${r.row0}`, format, r.rows, D, 11 + r.row0) }));
  const norm = createStorage(device, 'norm', new Float32Array(D).fill(1));
  const capacity = Math.max(...CONTEXTS) + 1;
  const kv = randomHalves(device, 'kv cache', 2 * kvWords(k, capacity, Hkv, Dh), 9); // f32 cache words of random halves: finite values
  const step = createUniform(device, 'step', [0, 0, 0, 0]);
  const x0 = Float32Array.from({ length: D }, (_, i) => Math.cos(i));
  const none = interventionsForLayer(c, [], 0);
  const timed = async (steps: Step[], timestamps: 'all' | 'each') => (await submit(device, steps, { label: 'scale', timestamps }))!;

  const layer: Record<string, number> = {};
  const layerGb: Record<string, number> = {};
  let perKernel: { kernel: string; label: string; us: number; bytes: number; gb_per_s: number }[] = [];
  let activeBytes = 0;
  for (const S0 of CONTEXTS) {
    const pos0 = S0, S = pos0 + 1, splits = attentionSplits(1, S, c.sliding_window);
    k.cache.beginCall();
    const steps = await validated(device, 'plan', () => {
      const s = scratchFor(k.cache, c, 1, 1, splits);
      write(device, step, 0, stepWords({ pos0, S, splits, draw: 0 }));
      write(device, s.x, 0, x0);
      const x = { buffer: s.x, offset: 0, size: 4 * D };
      // The layer as the engine runs it, without its hook points; its output goes to a buffer of its own.
      const out = { buffer: k.cache.buffer('scale out', 4 * D), offset: 0, size: 4 * D };
      return planLayer({ k, c, s, T: 1, pos0, S, capacity, splits, step, place: NOWHERE }, 0, w, kv, none, { x, out }).filter((p): p is Step => !('hook' in p));
    });
    const whole: number[] = [];
    for (let r = 0; r < runs; r++) whole.push((await timed(steps, 'all'))[0]);
    layer[`context_${S0}`] = +median(whole).toFixed(3);
    const passes = steps.filter((p): p is Pass => 'pipeline' in p);
    const bytes = passes.reduce((a, p) => a + bytesOf(p.kernel!, c, S, k), 0);
    layerGb[`context_${S0}`] = gbps(bytes, median(whole));
    if (S0 === CONTEXTS[0]) activeBytes = bytes;
    if (S0 === CONTEXTS.at(-1)) {
      const each: number[][] = passes.map(() => []);
      for (let r = 0; r < runs; r++) (await timed(steps, 'each')).forEach((t, i) => each[i].push(t));
      perKernel = passes.map((p, i) => {
        const ms = median(each[i]), b = bytesOf(p.kernel!, c, S, k);
        return { kernel: p.kernel!, label: p.label, us: +(1000 * ms).toFixed(1), bytes: b, gb_per_s: b ? gbps(b, ms) : 0 };
      });
    }
  }

  // lm_head with the final norm folded in, on the last row
  k.cache.beginCall();
  const head = await validated(device, 'plan lm_head', () => {
    const x = createStorage(device, 'final x', x0), out = k.cache.buffer('logits', 4 * V);
    return planLinearParts(k, { x, g: norm, eps: c.rms_norm_eps, parts: lmHead, out, T: 1, In: D, N: V, dtype: format });
  });
  const headMs: number[] = [];
  for (let r = 0; r < runs; r++) headMs.push((await timed(head, 'all'))[0]);
  const lmHeadMs = median(headMs);

  // the roof: reading 512 MiB once
  const words = ROOF_BYTES / 16;
  const src = randomHalves(device, 'roof', ROOF_BYTES / 4, 13);
  const groups = Math.min(4096, device.limits.maxComputeWorkgroupsPerDimension);
  const sink = createEmpty(device, 'roof sink', 4 * groups);
  const roofPass = await validated(device, 'plan roof', () => [planStreamRead(k, { src, words, out: sink, workgroups: groups })]);
  const roofMs: number[] = [];
  for (let r = 0; r < Math.max(3, runs); r++) roofMs.push((await timed(roofPass, 'all'))[0]);
  const roof = gbps(ROOF_BYTES, median(roofMs));

  const ms64 = layer[`context_${CONTEXTS[0]}`];
  const fractionOfRoof = +((activeBytes / (ms64 / 1000) / 1e9) / roof).toFixed(3);
  const published = publishedBandwidth(adapter);
  for (const b of [...layerBuffers(w), ...lmHead.map((p) => p.buffer), norm, kv, step, src, sink]) b.destroy();
  disposeKernels(k);
  return {
    scale: {
      dims: 'Mixtral-8x7B layer: hidden 4096, expert width 14336, 32/8 heads, 8 experts, top-2, f32 KV cache, no sliding window',
      weights: format,
      kernels: `${k.subgroups ? 'subgroup' : 'workgroup-reduction'} kernels`, runs,
      layer_gpu_ms: layer,
      layer_gb_per_s: layerGb,
      [`layer_${CONTEXTS.at(-1)}_over_${CONTEXTS[0]}`]: +(layer[`context_${CONTEXTS.at(-1)}`] / ms64).toFixed(3),
      active_bytes_per_token_per_layer: activeBytes,
      roof_gb_per_s: roof,
      fraction_of_roof: fractionOfRoof,
      published_gb_per_s: published,
      fraction_of_published: published ? +((activeBytes / (ms64 / 1000) / 1e9) / published).toFixed(3) : null,
      lm_head_ms: +lmHeadMs.toFixed(3),
      projected_ms_per_token_32_layers: +(32 * ms64 + lmHeadMs).toFixed(2),
      kernel_us_at_context_4096: perKernel,
    },
    webgpu_adapter: describeAdapter(adapter), real_gpu: isRealGpu(adapter),
    targets_here: { [`layer_${CONTEXTS.at(-1)}_within_2x_of_${CONTEXTS[0]}`]: layer[`context_${CONTEXTS.at(-1)}`] / ms64 <= 2 },
    ...(isRealGpu(adapter) ? { targets: scaleTargets(fractionOfRoof) } : {}),
  };
}

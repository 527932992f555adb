// Scale mode: one decoder layer with Mixtral-8x7B's real dimensions (hidden 4096, expert width
// 14336, 32 query / 8 key-value heads, 8 experts, top-2), random F16 weights, run through the
// WebGPU engine's own layer plan (forward.ts: planLayer) as a decode step. Reports time per layer and the memory bandwidth
// achieved (bytes of weights a token actually reads / time) as a fraction of the device's own
// copy bandwidth measured in the same run.
//
// Napkin maths per token per layer: attention 2 x (4096x4096 + 2 x 1024x4096 + 4096x4096) bytes
// = 84 MB, router 128 KB, two experts 2 x 3 x 4096 x 14336 x 2 bytes = 705 MB: ~789 MB read.
import { parseConfig, type MixtralConfig } from '../engine/config.ts';
import { interventionsForLayer } from '../engine/hooks/interventions.ts';
import { copy, createEmpty, createStorage, submit, validated, type Step } from '../engine/webgpu/gpu.ts';
import { createKernels } from '../engine/webgpu/kernels.ts';
import { planLayer, scratchFor } from '../engine/webgpu/forward.ts';
import { layerBuffers, type GpuLayer } from '../engine/webgpu/upload.ts';

/** Mixtral-8x7B's published config (mistralai/Mixtral-8x7B-v0.1 config.json). */
export const MIXTRAL_8X7B: MixtralConfig = parseConfig({
  model_type: 'mixtral', vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32,
  num_attention_heads: 32, num_key_value_heads: 8, num_local_experts: 8, num_experts_per_tok: 2,
  rms_norm_eps: 1e-5, rope_theta: 1e6, sliding_window: null, max_position_embeddings: 32768, tie_word_embeddings: false,
});

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

async function timeSubmit(device: GPUDevice, steps: Step[]): Promise<number> {
  const t = performance.now();
  await submit(device, steps, { label: 'scale layer' });
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
    await submit(device, [copy(a, 0, b, 0, bytes)], { label: 'copy bandwidth' });
    await device.queue.onSubmittedWorkDone();
    best = Math.min(best, performance.now() - t);
  }
  a.destroy(); b.destroy();
  return (2 * bytes) / (best / 1000);
}

/** One decoder layer of `c` with random F16 weights, laid out as the engine uploads a layer. */
function randomLayer(device: GPUDevice, c: MixtralConfig): GpuLayer {
  const D = c.hidden_size, F = c.intermediate_size, E = c.num_local_experts, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  const experts = (label: string, seed: number) => [{ buffer: randomHalves(device, label, (E * F * D) / 2, seed), row0: 0, rows: E }];
  return {
    input_layernorm: createStorage(device, 'input_layernorm', new Float32Array(D).fill(1)),
    q_proj: randomHalves(device, 'q_proj', (q * D) / 2, 1), k_proj: randomHalves(device, 'k_proj', (kv * D) / 2, 2),
    v_proj: randomHalves(device, 'v_proj', (kv * D) / 2, 3), o_proj: randomHalves(device, 'o_proj', (D * q) / 2, 4),
    post_attention_layernorm: createStorage(device, 'post_attention_layernorm', new Float32Array(D).fill(1)),
    gate: createStorage(device, 'gate', Float32Array.from({ length: E * D }, (_, i) => Math.sin(i) * 0.05)),
    w1: experts('w1', 5), w3: experts('w3', 6), w2: experts('w2', 7),
  };
}

/**
 * Decode `tokens` tokens after `context` positions through one layer of Mixtral-8x7B: the
 * engine's own layer plan (forward.ts: planLayer) on random weights, timed by the wall clock
 * and by timestamp queries (the whole layer, and each kernel on its own).
 */
export async function scaleBench(device: GPUDevice, tokens = 3, context = 64): Promise<Record<string, unknown>> {
  const c = MIXTRAL_8X7B;
  const D = c.hidden_size, F = c.intermediate_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads, Dh = c.head_dim, E = c.num_local_experts, K = c.num_experts_per_tok;
  const k = await createKernels(device, { f16Weights: true });
  const w = await validated(device, 'scale weights', () => randomLayer(device, c));
  const width = context + tokens;
  const cache = { k: createEmpty(device, 'k cache', 4 * width * Hkv * Dh), v: createEmpty(device, 'v cache', 4 * width * Hkv * Dh) };
  const noInterventions = interventionsForLayer(c, [], 0);
  const times: number[] = [];
  let gpu: { whole: number; each: number[] } | null = null;
  let labels: string[] = [];
  for (let t = 0; t < tokens; t++) {
    const pos0 = context + t;
    k.cache.beginCall();
    const steps = await validated(device, 'plan', () => {
      const s = scratchFor(k.cache, c, 1, 1, width);
      if (t === 0) device.queue.writeBuffer(s.x, 0, Float32Array.from({ length: D }, (_, i) => Math.cos(i)));
      // The layer as the engine runs it, without its hook points.
      return planLayer({ k, c, s, T: 1, pos0, S: pos0 + 1 }, 0, w, cache, noInterventions).filter((p): p is Step => !('hook' in p));
    });
    times.push(await timeSubmit(device, steps));
    if (t === tokens - 1 && device.features.has('timestamp-query')) {
      const [whole] = (await submit(device, steps, { label: 'scale layer', timestamps: 'all' }))!;
      const each = (await submit(device, steps, { label: 'scale layer', timestamps: 'each' }))!;
      gpu = { whole, each };
      labels = steps.flatMap((p) => ('pipeline' in p ? [p.label] : []));
    }
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
  for (const b of [...layerBuffers(w), cache.k, cache.v]) b.destroy();
  k.cache.dispose();
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

// Host side of the kernels: compile each shader once, then plan a dispatch as a Pass from
// buffers and sizes. Planning checks shapes against buffer sizes here, where the message can
// name the kernel, and writes the sizes into a small params uniform that the kernels' cache
// (pass-cache.ts) keeps with the pass's bind group.
// Shapes: T tokens, D hidden, In/N a linear layer's input/output width, Dh head width.
import { GpuError, createPipeline, f32Bits, grid, type Pass } from './gpu.ts';
import { WGSL, type ShaderName } from './shaders.ts';
import { PassCache } from './pass-cache.ts';
import type { Part } from './split.ts';

/**
 * How the subgroup kernels are laid out on this device: workgroups of `wg` invocations covering
 * `rowsPerWorkgroup` output rows (wg / the adapter's smallest subgroup size, so that any subgroup
 * size the adapter picks covers them), and `tokenBlock` tokens per weight read in prefill.
 */
export interface SubgroupLayout { wg: number; rowsPerWorkgroup: number; tokenBlock: number }

/** The compiled kernels of one device. */
export interface Kernels {
  device: GPUDevice;
  /** Invocations per workgroup of every kernel without subgroups (a power of two). */
  wg: number;
  /** Weights of embed/expert kernels are packed halves (true) or f32 (false). */
  f16Weights: boolean;
  pipelines: Record<PipelineName, GPUComputePipeline>;
  /**
   * Where planned dispatches keep their params and bind groups (see pass-cache.ts): the kernels'
   * own, or a session's (`withCache`). Disposing it frees what was planned through it.
   */
  cache: PassCache;
  /** Token rows per tile of the grouped expert kernels without subgroups (TILE x TILE invocations). */
  tile: number;
  /**
   * The subgroup kernels' layout, or null where the device has no `subgroups` feature (or they
   * were turned off): the matrix products and experts then use the workgroup-reduction kernels.
   */
  subgroups: SubgroupLayout | null;
}

/** The same kernels, planning through `cache`. */
export function withCache(k: Kernels, cache: PassCache): Kernels {
  return { ...k, cache };
}

/** Kernels that read big weight matrices as u32 words: packed halves or f32 bits, set by F16. */
const WEIGHT_SHADERS: ReadonlySet<ShaderName> = new Set(['embed', 'moe_gate_up', 'moe_down', 'moe_gate_up_grouped', 'moe_down_grouped']);
/** Kernels whose workgroups are TILE x TILE tiles rather than WG invocations in a row. */
const TILED_SHADERS: ReadonlySet<ShaderName> = new Set(['moe_gate_up_grouped', 'moe_down_grouped']);
/** Kernels that reduce with subgroup operations: compiled only on devices with `subgroups`. */
const SUBGROUP_SHADERS = ['matmul_subgroup', 'moe_gate_up_subgroup', 'moe_down_subgroup', 'moe_gate_up_grouped_subgroup', 'moe_down_grouped_subgroup', 'rmsnorm_subgroup', 'softmax_rows_subgroup'] as const;
type SubgroupShader = (typeof SUBGROUP_SHADERS)[number];
type PlainShader = Exclude<ShaderName, SubgroupShader>;

/**
 * The pipelines: each plain kernel once, and the subgroup kernels in the variants the engine
 * dispatches (the dense product with f16 or f32 weights, for one token or a block of tokens).
 */
export type PipelineName = PlainShader | 'matmul_subgroup_f16' | 'matmul_subgroup_f16_block' | 'matmul_subgroup_f32' | 'matmul_subgroup_f32_block'
  | Exclude<SubgroupShader, 'matmul_subgroup'>;

/** Workgroup size of the subgroup kernels, and tokens per weight read in their prefill variants. */
const SUBGROUP_WG = 128, TOKEN_BLOCK = 8;

/**
 * Compile every kernel for `device`, with workgroups of `wg` invocations. The subgroup kernels
 * are compiled where the device was created with the `subgroups` feature, unless `subgroups`
 * is false (tests of the fallback kernels on such a device).
 */
export async function createKernels(device: GPUDevice, { wg = 64, f16Weights = true, tile = 16, subgroups = true } = {}): Promise<Kernels> {
  if (tile * tile > device.limits.maxComputeInvocationsPerWorkgroup) throw new GpuError(`expert tile ${tile} x ${tile} exceeds this device's workgroup size`);
  if (!Number.isInteger(wg) || wg < 1 || (wg & (wg - 1)) !== 0 || wg > device.limits.maxComputeInvocationsPerWorkgroup) {
    throw new GpuError(`workgroup size ${wg} must be a power of two of at most ${device.limits.maxComputeInvocationsPerWorkgroup}`);
  }
  const layout = subgroups ? subgroupLayout(device) : null;
  const jobs: [PipelineName, ShaderName, Record<string, number>][] = [];
  for (const name of Object.keys(WGSL) as ShaderName[]) {
    if ((SUBGROUP_SHADERS as readonly string[]).includes(name)) continue;
    jobs.push([name as PlainShader, name, {
      ...(TILED_SHADERS.has(name) ? { TILE: tile } : { WG: wg }),
      ...(WEIGHT_SHADERS.has(name) ? { F16: f16Weights ? 1 : 0 } : {}),
    }]);
  }
  if (layout) {
    const sg = { WG: layout.wg, RPW: layout.rowsPerWorkgroup }, F16 = f16Weights ? 1 : 0;
    jobs.push(
      ['matmul_subgroup_f16', 'matmul_subgroup', { ...sg, TB: 1, F16: 1 }],
      ['matmul_subgroup_f16_block', 'matmul_subgroup', { ...sg, TB: layout.tokenBlock, F16: 1 }],
      ['matmul_subgroup_f32', 'matmul_subgroup', { ...sg, TB: 1, F16: 0 }],
      ['matmul_subgroup_f32_block', 'matmul_subgroup', { ...sg, TB: layout.tokenBlock, F16: 0 }],
      ['moe_gate_up_subgroup', 'moe_gate_up_subgroup', { ...sg, F16 }],
      ['moe_down_subgroup', 'moe_down_subgroup', { ...sg, F16 }],
      ['moe_gate_up_grouped_subgroup', 'moe_gate_up_grouped_subgroup', { ...sg, TB: layout.tokenBlock, F16 }],
      ['moe_down_grouped_subgroup', 'moe_down_grouped_subgroup', { ...sg, TB: layout.tokenBlock, F16 }],
      ['rmsnorm_subgroup', 'rmsnorm_subgroup', sg],
      ['softmax_rows_subgroup', 'softmax_rows_subgroup', sg],
    );
  }
  const built = await Promise.all(jobs.map(([name, shader, constants]) => createPipeline(device, name, WGSL[shader], constants)));
  return {
    device, wg, f16Weights, tile, subgroups: layout, cache: new PassCache(device),
    pipelines: Object.fromEntries(jobs.map(([name], i) => [name, built[i]])) as Record<PipelineName, GPUComputePipeline>,
  };
}

/** The subgroup kernels' layout on `device`, or null without the `subgroups` feature. */
function subgroupLayout(device: GPUDevice): SubgroupLayout | null {
  if (!device.features.has('subgroups')) return null;
  // WebGPU subgroups have at least 4 lanes; where the adapter does not say, plan for 4.
  const min = Math.max(4, (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo?.subgroupMinSize ?? 4);
  const wg = Math.min(device.limits.maxComputeInvocationsPerWorkgroup, Math.max(SUBGROUP_WG, min));
  return { wg, rowsPerWorkgroup: Math.max(1, wg / min), tokenBlock: TOKEN_BLOCK };
}

/** Elements per 16-byte weight word: the subgroup kernels read weights 16 bytes at a time. */
const perWord = (dtype: 'f16' | 'f32') => (dtype === 'f16' ? 8 : 4);
/** Whether expert rows of widths D and F are whole 16-byte words of this engine's weights. */
const wholeWords = (k: Kernels, D: number, F: number) => {
  const word = perWord(k.f16Weights ? 'f16' : 'f32');
  return D % word === 0 && F % word === 0;
};

function need(kernel: string, name: string, buffer: GPUBuffer, bytes: number): void {
  if (buffer.size < bytes) throw new GpuError(`${kernel}: ${name} holds ${buffer.size} bytes, needs ${bytes}`);
}

function plan(k: Kernels, name: PipelineName, label: string, params: number[], buffers: GPUBuffer[], workgroups: Pass['workgroups']): Pass {
  return k.cache.pass(name, k.pipelines[name], label, params, buffers, workgroups);
}

/** out (T, D) = rmsnorm(x (T, D)) * w (D). */
export function planRmsnorm(k: Kernels, a: { x: GPUBuffer; w: GPUBuffer; out: GPUBuffer; T: number; D: number; eps: number }): Pass {
  const label = `rmsnorm T=${a.T} D=${a.D}`;
  need(label, 'x', a.x, 4 * a.T * a.D);
  need(label, 'w', a.w, 4 * a.D);
  need(label, 'out', a.out, 4 * a.T * a.D);
  if (k.subgroups) {
    const rowBlocks = Math.ceil(a.T / k.subgroups.rowsPerWorkgroup);
    return plan(k, 'rmsnorm_subgroup', label, [a.T, a.D, f32Bits(a.eps), rowBlocks], [a.x, a.w, a.out], grid(k.device, rowBlocks));
  }
  return plan(k, 'rmsnorm', label, [a.T, a.D, f32Bits(a.eps)], [a.x, a.w, a.out], grid(k.device, a.T));
}

/**
 * out (T, N) = x (T, In) @ w (N, In)^T. With dtype 'f16', w holds packed half pairs (see f16.ts:
 * packF16) and In must be even. `ldo` (row stride of out, default N) and `col0` (its first
 * column) let the parts of a split weight fill their columns of one output.
 */
export function planMatmul(k: Kernels, a: { x: GPUBuffer; w: GPUBuffer; out: GPUBuffer; T: number; In: number; N: number; dtype: 'f16' | 'f32'; ldo?: number; col0?: number }): Pass {
  const ldo = a.ldo ?? a.N, col0 = a.col0 ?? 0;
  const label = `matmul_${a.dtype} T=${a.T} In=${a.In} N=${a.N}`;
  if (a.dtype === 'f16' && a.In % 2 !== 0) throw new GpuError(`${label}: f16 weights are read in pairs, so In must be even`);
  if (col0 + a.N > ldo) throw new GpuError(`${label}: columns ${col0}..${col0 + a.N - 1} do not fit rows of ${ldo}`);
  need(label, 'x', a.x, 4 * a.T * a.In);
  need(label, 'w', a.w, (a.dtype === 'f16' ? 2 : 4) * a.N * a.In);
  need(label, 'out', a.out, 4 * a.T * ldo);
  const sg = k.subgroups;
  if (sg && a.In % perWord(a.dtype) === 0) {
    const rowBlocks = Math.ceil(a.N / sg.rowsPerWorkgroup);
    const block = a.T > 1;
    const name: PipelineName = `matmul_subgroup_${a.dtype}${block ? '_block' : ''}`;
    return plan(k, name, label, [a.T, a.In, a.N, ldo, col0, rowBlocks], [a.x, a.w, a.out],
      grid(k.device, rowBlocks * Math.ceil(a.T / (block ? sg.tokenBlock : 1))));
  }
  return plan(k, `matmul_${a.dtype}`, label, [a.T, a.In, a.N, ldo, col0], [a.x, a.w, a.out], grid(k.device, a.T * a.N));
}

/** out (T, N) = x (T, In) @ w^T for a weight held as row parts (a split lm_head): one dispatch per part. */
export function planMatmulParts(k: Kernels, a: { x: GPUBuffer; parts: readonly Part[]; out: GPUBuffer; T: number; In: number; N: number; dtype: 'f16' | 'f32' }): Pass[] {
  return a.parts.map((p) => planMatmul(k, { x: a.x, w: p.buffer, out: a.out, T: a.T, In: a.In, N: p.rows, dtype: a.dtype, ldo: a.N, col0: p.row0 }));
}

/** The rotary frequencies (Dh/2) exactly as the CPU twin computes them. */
export function ropeInvFreq(Dh: number, theta: number): Float32Array {
  return Float32Array.from({ length: Dh / 2 }, (_, i) => 1 / Math.pow(theta, (2 * i) / Dh));
}

/** Rotate x (T, heads, Dh) in place for positions pos0 .. pos0+T-1 (rotate-half, base theta). */
export function planRope(k: Kernels, a: { x: GPUBuffer; T: number; heads: number; Dh: number; pos0: number; theta: number }): Pass {
  const label = `rope T=${a.T} heads=${a.heads} Dh=${a.Dh} pos0=${a.pos0}`;
  if (a.Dh % 2 !== 0) throw new GpuError(`${label}: Dh must be even`);
  if (a.pos0 + a.T > 2 ** 24) throw new GpuError(`${label}: positions past 2^24 are not exact in f32`);
  need(label, 'x', a.x, 4 * a.T * a.heads * a.Dh);
  const invFreq = k.cache.constant('rope invFreq', ropeInvFreq(a.Dh, a.theta));
  const jobs = Math.ceil((a.T * a.heads * a.Dh) / 2 / k.wg);
  return plan(k, 'rope', label, [a.T, a.heads, a.Dh, a.pos0], [invFreq, a.x], grid(k.device, jobs));
}

/** out (n) += x (n), in place. */
export function planAdd(k: Kernels, a: { out: GPUBuffer; x: GPUBuffer; n: number }): Pass {
  const label = `add n=${a.n}`;
  need(label, 'out', a.out, 4 * a.n);
  need(label, 'x', a.x, 4 * a.n);
  return plan(k, 'add', label, [a.n], [a.x, a.out], grid(k.device, Math.ceil(a.n / k.wg)));
}

/**
 * x (T, D) = embed[ids[t]] with embed (V, D) as packed halves (D even) or f32; ids a u32 buffer of
 * T. `row0`/`rows` say which vocabulary rows the buffer holds when the table is split in parts.
 */
export function planEmbed(k: Kernels, a: { ids: GPUBuffer; embed: GPUBuffer; x: GPUBuffer; T: number; D: number; row0?: number; rows?: number }): Pass {
  const label = `embed T=${a.T} D=${a.D}`;
  if (a.D % 2 !== 0) throw new GpuError(`${label}: D must be even for packed halves`);
  const rows = a.rows ?? Math.floor(a.embed.size / ((k.f16Weights ? 2 : 4) * a.D));
  need(label, 'ids', a.ids, 4 * a.T);
  need(label, 'x', a.x, 4 * a.T * a.D);
  return plan(k, 'embed', label, [a.T, a.D, a.row0 ?? 0, rows], [a.ids, a.embed, a.x], grid(k.device, Math.ceil((a.T * a.D) / k.wg)));
}

export interface AttentionShape { T: number; S: number; H: number; Hkv: number; Dh: number; pos0: number; window: number | null }

/**
 * Attention over the cache, as three passes: scores (H, T, S) with the causal/sliding-window mask,
 * a row softmax (the pattern), and z (T, H, Dh) = pattern @ v. headScale (H) is 1, or 0 for a zeroed head.
 */
export function planAttention(k: Kernels, a: AttentionShape & { q: GPUBuffer; kcache: GPUBuffer; vcache: GPUBuffer; att: GPUBuffer; headScale: GPUBuffer; z: GPUBuffer }): Pass[] {
  const label = `attention T=${a.T} S=${a.S} H=${a.H}/${a.Hkv}`;
  if (a.H % a.Hkv !== 0) throw new GpuError(`${label}: H must be a multiple of Hkv`);
  need(label, 'q', a.q, 4 * a.T * a.H * a.Dh);
  need(label, 'kcache', a.kcache, 4 * a.S * a.Hkv * a.Dh);
  need(label, 'vcache', a.vcache, 4 * a.S * a.Hkv * a.Dh);
  need(label, 'att', a.att, 4 * a.H * a.T * a.S);
  need(label, 'z', a.z, 4 * a.T * a.H * a.Dh);
  const window = Math.min(a.window ?? 0xffffffff, 0xffffffff);
  return [
    plan(k, 'attention_scores', `${label} scores`, [a.T, a.S, a.H, a.Hkv, a.Dh, a.pos0, window, f32Bits(1 / Math.sqrt(a.Dh))],
      [a.q, a.kcache, a.att], grid(k.device, Math.ceil((a.H * a.T * a.S) / k.wg))),
    planSoftmaxRows(k, { x: a.att, rows: a.H * a.T, n: a.S }),
    plan(k, 'attention_apply', `${label} apply`, [a.T, a.S, a.H, a.Hkv, a.Dh], [a.att, a.vcache, a.headScale, a.z],
      grid(k.device, Math.ceil((a.T * a.H * a.Dh) / k.wg))),
  ];
}

/** Softmax of each of `rows` rows of n in place; masked entries (most negative float) become 0. */
export function planSoftmaxRows(k: Kernels, a: { x: GPUBuffer; rows: number; n: number }): Pass {
  const label = `softmax rows=${a.rows} n=${a.n}`;
  need(label, 'x', a.x, 4 * a.rows * a.n);
  if (k.subgroups) {
    const rowBlocks = Math.ceil(a.rows / k.subgroups.rowsPerWorkgroup);
    return plan(k, 'softmax_rows_subgroup', label, [a.rows, a.n, rowBlocks], [a.x], grid(k.device, rowBlocks));
  }
  return plan(k, 'softmax_rows', label, [a.rows, a.n], [a.x], grid(k.device, a.rows));
}

/**
 * Router after the gate matmul: bias (E), ablated (E, u32 0/1), rules (u32, see router.wgsl) in;
 * logits (T, E) biased in place; probs (T, E), idx (T, K) u32 and weights (T, K) out.
 */
export function planRouter(k: Kernels, a: { T: number; E: number; K: number; pos0: number; bias: GPUBuffer; ablated: GPUBuffer; rules: GPUBuffer; logits: GPUBuffer; probs: GPUBuffer; idx: GPUBuffer; weights: GPUBuffer }): Pass {
  const label = `router T=${a.T} E=${a.E} K=${a.K}`;
  if (a.E > 64) throw new GpuError(`${label}: at most 64 experts`);
  need(label, 'logits', a.logits, 4 * a.T * a.E);
  need(label, 'probs', a.probs, 4 * a.T * a.E);
  need(label, 'idx', a.idx, 4 * a.T * a.K);
  need(label, 'weights', a.weights, 4 * a.T * a.K);
  return plan(k, 'router', label, [a.T, a.E, a.K, a.pos0], [a.bias, a.ablated, a.rules, a.logits, a.probs, a.idx, a.weights],
    grid(k.device, Math.ceil(a.T / k.wg)));
}

/** The router's rules buffer from forced-expert interventions (first match wins, as on the CPU). */
export function routerRules(K: number, force: readonly { experts: number[]; weights?: number[]; positions?: number[] }[]): Uint32Array {
  const words: number[] = [force.length];
  for (const f of force) {
    words.push(f.positions ? 0 : 1, f.positions?.length ?? 0, f.weights ? 1 : 0, ...f.experts);
    for (let i = 0; i < K; i++) words.push(f32Bits(f.weights?.[i] ?? 0));
    words.push(...(f.positions ?? []));
  }
  return Uint32Array.from(words);
}

/**
 * The experts, only the chosen ones: h (T*K, F) = silu(w1[e] x) * (w3[e] x), then
 * expertOut (T*K, D) = w2[e] h and out (T, D) = sum_k weights * expertOut. Expert weights are
 * packed halves, all experts of a layer in one buffer: w1, w3 (E, F, D), w2 (E, D, F).
 */
export function planExperts(k: Kernels, a: { T: number; K: number; D: number; F: number; x: GPUBuffer; idx: GPUBuffer; weights: GPUBuffer; w1: GPUBuffer; w3: GPUBuffer; w2: GPUBuffer; h: GPUBuffer; expertOut: GPUBuffer; out: GPUBuffer }): Pass[] {
  const label = `experts T=${a.T} K=${a.K} D=${a.D} F=${a.F}`;
  if (a.D % 2 !== 0 || a.F % 2 !== 0) throw new GpuError(`${label}: D and F must be even for packed halves`);
  need(label, 'h', a.h, 4 * a.T * a.K * a.F);
  need(label, 'expertOut', a.expertOut, 4 * a.T * a.K * a.D);
  need(label, 'out', a.out, 4 * a.T * a.D);
  const sg = k.subgroups;
  if (sg && wholeWords(k, a.D, a.F)) {
    const fBlocks = Math.ceil(a.F / sg.rowsPerWorkgroup), dBlocks = Math.ceil(a.D / sg.rowsPerWorkgroup);
    return [
      plan(k, 'moe_gate_up_subgroup', `${label} gate/up`, [a.T * a.K, a.K, a.D, a.F, fBlocks], [a.x, a.idx, a.w1, a.w3, a.h], grid(k.device, a.T * a.K * fBlocks)),
      plan(k, 'moe_down_subgroup', `${label} down`, [a.T, a.K, a.D, a.F, dBlocks], [a.h, a.idx, a.weights, a.w2, a.expertOut, a.out], grid(k.device, a.T * dBlocks)),
    ];
  }
  return [
    plan(k, 'moe_gate_up', `${label} gate/up`, [a.T, a.K, a.D, a.F], [a.x, a.idx, a.w1, a.w3, a.h], grid(k.device, a.T * a.K * a.F)),
    plan(k, 'moe_down', `${label} down`, [a.T, a.K, a.D, a.F], [a.h, a.idx, a.weights, a.w2, a.expertOut, a.out], grid(k.device, a.T * a.D)),
  ];
}

/** out[0] (u32) = argmax of x (n): greedy decoding without reading the logits back. */
export function planArgmax(k: Kernels, a: { x: GPUBuffer; n: number; out: GPUBuffer }): Pass {
  need('argmax', 'x', a.x, 4 * a.n);
  return plan(k, 'argmax', `argmax n=${a.n}`, [a.n], [a.x, a.out], [1, 1, 1]);
}

/**
 * The experts for many tokens (prefill), grouped by expert on the GPU: moe_group lists each
 * expert's (token, slot) pairs from idx, then per expert and tile of TILE of its slots the tiled
 * kernels compute h (T*K, F) and expertOut (T*K, D) reading each weight once per tile, and
 * moe_combine sums out (T, D) = sum_k weights * expertOut in slot order. w1, w3 (E, F, D) and w2
 * (E, D, F) may be split into parts of whole experts (row0 = first expert, rows = experts): one
 * dispatch per part. offsets (E+1) and order (T*K) are u32 scratch.
 */
export function planExpertsGrouped(k: Kernels, a: {
  T: number; K: number; E: number; D: number; F: number; x: GPUBuffer; idx: GPUBuffer; weights: GPUBuffer;
  w1: readonly Part[]; w3: readonly Part[]; w2: readonly Part[]; offsets: GPUBuffer; order: GPUBuffer; h: GPUBuffer; expertOut: GPUBuffer; out: GPUBuffer;
}): Pass[] {
  const label = `experts T=${a.T} K=${a.K} D=${a.D} F=${a.F}`;
  if (a.D % 2 !== 0 || a.F % 2 !== 0) throw new GpuError(`${label}: D and F must be even for packed halves`);
  if (a.E > 64) throw new GpuError(`${label}: at most 64 experts`);
  const slots = a.T * a.K;
  need(label, 'offsets', a.offsets, 4 * (a.E + 1));
  need(label, 'order', a.order, 4 * slots);
  need(label, 'h', a.h, 4 * slots * a.F);
  need(label, 'expertOut', a.expertOut, 4 * slots * a.D);
  need(label, 'out', a.out, 4 * a.T * a.D);
  // An expert may hold every slot (forced experts put all tokens on the same ones).
  const group = plan(k, 'moe_group', `${label} group`, [slots, a.E], [a.idx, a.offsets, a.order], [1, 1, 1]);
  const combine = plan(k, 'moe_combine', `${label} combine`, [a.T, a.K, a.D], [a.weights, a.expertOut, a.out], grid(k.device, Math.ceil((a.T * a.D) / k.wg)));
  const sg = k.subgroups;
  if (sg && wholeWords(k, a.D, a.F)) {
    const tiles = Math.ceil(slots / sg.tokenBlock);
    const fBlocks = Math.ceil(a.F / sg.rowsPerWorkgroup), dBlocks = Math.ceil(a.D / sg.rowsPerWorkgroup);
    return [
      group,
      ...a.w1.map((p, i) => plan(k, 'moe_gate_up_grouped_subgroup', `${label} gate/up grouped`, [a.K, a.D, a.F, tiles, p.row0, p.rows, fBlocks],
        [a.x, a.offsets, a.order, p.buffer, a.w3[i].buffer, a.h], grid(k.device, fBlocks * tiles * p.rows))),
      ...a.w2.map((p) => plan(k, 'moe_down_grouped_subgroup', `${label} down grouped`, [a.D, a.F, tiles, p.row0, p.rows, dBlocks],
        [a.h, a.offsets, a.order, p.buffer, a.expertOut], grid(k.device, dBlocks * tiles * p.rows))),
      combine,
    ];
  }
  const tiles = Math.ceil(slots / k.tile);
  const grouped = (parts: readonly Part[], make: (p: Part, i: number) => Pass) => parts.map((p, i) => {
    if (p.rows * tiles > k.device.limits.maxComputeWorkgroupsPerDimension) throw new GpuError(`${label}: ${p.rows} experts x ${tiles} token tiles exceed one grid dimension`);
    return make(p, i);
  });
  const tilesOf = (n: number) => Math.ceil(n / k.tile);
  return [
    group,
    ...grouped(a.w1, (p, i) => plan(k, 'moe_gate_up_grouped', `${label} gate/up grouped`, [a.K, a.D, a.F, tiles, p.row0],
      [a.x, a.offsets, a.order, p.buffer, a.w3[i].buffer, a.h], [tilesOf(a.F), p.rows * tiles, 1])),
    ...grouped(a.w2, (p) => plan(k, 'moe_down_grouped', `${label} down grouped`, [a.D, a.F, tiles, p.row0],
      [a.h, a.offsets, a.order, p.buffer, a.expertOut], [tilesOf(a.D), p.rows * tiles, 1])),
    combine,
  ];
}

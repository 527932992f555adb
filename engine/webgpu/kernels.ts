// Host side of the kernels: compile each variant once, then plan a dispatch as a Pass from
// regions and sizes. Planning checks shapes against region sizes here, where the message can
// name the kernel, and writes the sizes into a small params uniform that the kernels' cache
// (pass-cache.ts) keeps with the pass's bind group. What moves with the position (pos0, S, the
// attention's splits, the sampler's draw) is not in the params but in the call's step uniform
// (`StepUniform`), written once per call, so a steady decode step rewrites no params.
// Shapes: T tokens, D hidden, In/N a linear layer's input/output width, Dh head width.
import { GpuError, createPipeline, createStorage, f32Bits, grid, regionOf, validated, type Binding, type Pass } from './gpu.ts';
import { WGSL, type ShaderName } from './shaders.ts';
import { PassCache } from './pass-cache.ts';
import { expTable, samplingConstants, type SamplingOptions } from '../sampling.ts';
import type { Part } from './split.ts';
import type { WeightFormat } from '../footprint/formats.ts';
import { regionWords, weightBytes } from './weight-layout.ts';

/**
 * How the subgroup kernels are laid out on this device: workgroups of `wg` invocations covering
 * `rowsPerWorkgroup` output rows (wg / the adapter's smallest subgroup size, so that any subgroup
 * size the adapter picks covers them), and `tokenBlock` tokens per weight read in prefill. The
 * dense projections (linear, qkv) take `rowGroup` rows (pairs) per subgroup pass, reading each
 * word of their input once for all of them: their workgroups cover rowGroup x rowsPerWorkgroup.
 */
export interface SubgroupLayout { wg: number; rowsPerWorkgroup: number; tokenBlock: number; rowGroup: number }

/** The compiled kernels of one device. */
export interface Kernels {
  device: GPUDevice;
  /** Invocations per workgroup of the element-wise and workgroup-reduction kernels (a power of two). */
  wg: number;
  /** How the big matrices are stored (weight-layout.ts): f32, packed halves, q8 or q4. */
  format: WeightFormat;
  /** format === 'f16'. */
  f16Weights: boolean;
  /** The KV cache holds packed halves (true) or f32 (false). */
  f16KV: boolean;
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
  /** A variant of a shader with these `override` constants, compiled on first use. */
  pipeline(shader: ShaderName, constants: Record<string, number>): GPUComputePipeline;
  /**
   * Small storage buffers bound where a variant does not use a binding: [0] for read-only
   * bindings, [1..3] one per read_write binding (WebGPU allows one buffer in a dispatch either
   * read-only or writable, not both).
   */
  dummies: GPUBuffer[];
  /** The sampler's table of weights (engine/sampling.ts: expTable), on the GPU. */
  expTable: GPUBuffer;
}

/** The same kernels, planning through `cache`. */
export function withCache(k: Kernels, cache: PassCache): Kernels {
  return { ...k, cache };
}

/** Workgroup size of the subgroup kernels, and tokens per weight read in their prefill variants. */
const SUBGROUP_WG = 128, TOKEN_BLOCK = 8, ROW_GROUP = 4;
/** Fixed workgroup sizes of kernels whose workgroup memory is sized for them. */
const ATTENTION_WG = 64, ROUTER_WG = 32, SAMPLE_WG = 256;
/** The most experts the router and the grouping of tokens by expert hold (Qwen3-MoE has 128). */
export const MAX_EXPERTS = 128;
/** The largest head the attention kernels hold (4 elements per invocation of 64). */
const MAX_HEAD_DIM = 256;
/**
 * Positions per split of a decode step's attention (flash-decoding), and the most splits. A full
 * 128-position window is one split (no merge dispatch): its H jobs already spread over
 * workgroups (attentionJobsPerWorkgroup); longer spans without a window split, 4,096 positions
 * into 32 ranges.
 */
const SPLIT_POSITIONS = 128, MAX_SPLITS = 64;
/**
 * (row, split) jobs per workgroup of the subgroup attention kernel: at most 4, fewer than the other
 * subgroup kernels' rows per workgroup (32 on 4-lane subgroups), because a decode step has only
 * H x splits jobs and they should spread over several workgroups rather than queue in one. With
 * 32-lane subgroups a workgroup of 128 still has a job for every subgroup.
 */
const attentionJobsPerWorkgroup = (k: Kernels) => Math.min(4, k.subgroups!.rowsPerWorkgroup);
/** Candidates the sampler returns at most. */
export const MAX_CANDIDATES = 64;

/**
 * Compile the kernels for `device`, with workgroups of `wg` invocations. The subgroup kernels
 * are used where the device was created with the `subgroups` feature, unless `subgroups` is false
 * (tests of the fallback kernels on such a device). The variants the engine dispatches are
 * compiled here, inside an error scope, so a shader error fails the engine's creation; others
 * (tests', the bench's) on first use.
 */
export async function createKernels(device: GPUDevice, { wg = 64, f16Weights = true, format = (f16Weights ? 'f16' : 'f32') as WeightFormat, f16KV = false, tile = 16, subgroups = true } = {}): Promise<Kernels> {
  if (tile * tile > device.limits.maxComputeInvocationsPerWorkgroup) throw new GpuError(`expert tile ${tile} x ${tile} exceeds this device's workgroup size`);
  if (!Number.isInteger(wg) || wg < 1 || (wg & (wg - 1)) !== 0 || wg > device.limits.maxComputeInvocationsPerWorkgroup) {
    throw new GpuError(`workgroup size ${wg} must be a power of two of at most ${device.limits.maxComputeInvocationsPerWorkgroup}`);
  }
  const layout = subgroups ? subgroupLayout(device) : null;
  const compiled = new Map<string, GPUComputePipeline>();
  const pipeline = (shader: ShaderName, constants: Record<string, number>): GPUComputePipeline => {
    const key = `${shader}:${Object.entries(constants).sort().map(([n, v]) => `${n}=${v}`).join(',')}`;
    let p = compiled.get(key);
    if (!p) {
      p = device.createComputePipeline({ label: key, layout: 'auto', compute: { module: device.createShaderModule({ label: shader, code: WGSL[shader] }), entryPoint: 'main', constants } });
      compiled.set(key, p);
    }
    return p;
  };
  const made = await validated(device, 'kernel buffers', () => ({
    dummies: Array.from({ length: 4 }, (_, i) => createStorage(device, `unused binding ${i}`, new Uint32Array(4))),
    expTable: createStorage(device, 'sampling weights', expTable()),
  }));
  const cache = new PassCache(device);
  const k: Kernels = { device, wg, format, f16Weights: format === 'f16', f16KV, tile, subgroups: layout, cache, pipeline, ...made };
  // Compile what the engine dispatches now, asynchronously, so shader errors fail here.
  await Promise.all(engineVariants(k).map(([shader, constants]) => createPipeline(device, shader, WGSL[shader], constants).then((p) => {
    compiled.set(`${shader}:${Object.entries(constants).sort().map(([n, v]) => `${n}=${v}`).join(',')}`, p);
  })));
  return k;
}

/** Release what the kernels made (their cache, the dummies and the table). */
export function disposeKernels(k: Kernels): void {
  k.cache.dispose();
  for (const b of [...k.dummies, k.expTable]) b.destroy();
}

/** The subgroup kernels' layout on `device`, or null without the `subgroups` feature. */
function subgroupLayout(device: GPUDevice): SubgroupLayout | null {
  if (!device.features.has('subgroups')) return null;
  // WebGPU subgroups have at least 4 lanes; where the adapter does not say, plan for 4.
  const min = Math.max(4, (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo?.subgroupMinSize ?? 4);
  const wg = Math.min(device.limits.maxComputeInvocationsPerWorkgroup, Math.max(SUBGROUP_WG, min));
  return { wg, rowsPerWorkgroup: Math.max(1, wg / min), tokenBlock: TOKEN_BLOCK, rowGroup: ROW_GROUP };
}

// ---- the variants

const F = (b: boolean) => (b ? 1 : 0);
/**
 * The weight-format constants of a kernel that reads a big matrix: F16 (packed halves, or f32),
 * and for q8/q4 QUANT (lib/weights.wgsl) with F16 true, since they are read 8 to a step as halves are.
 * f32 and f16 leave QUANT at its default, so their variants are the same pipelines as before q8/q4.
 */
const formatConstants = (format: WeightFormat): Record<string, number> =>
  (format === 'q8' || format === 'q4' ? { F16: 1, QUANT: format === 'q8' ? 8 : 4 } : { F16: F(format === 'f16') });
const sgConstants = (k: Kernels) => ({ WG: k.subgroups!.wg, RPW: k.subgroups!.rowsPerWorkgroup });
/** Rows (pairs) per workgroup of the dense projections: rowGroup per subgroup pass. */
const groupedRows = (k: Kernels) => k.subgroups!.rowsPerWorkgroup * k.subgroups!.rowGroup;
const groupedConstants = (k: Kernels) => ({ WG: k.subgroups!.wg, RPW: groupedRows(k), R: k.subgroups!.rowGroup });

function linearVariant(k: Kernels, dtype: WeightFormat, norm: boolean, residual: boolean, subgroup: boolean, block: boolean): [ShaderName, Record<string, number>] {
  const fused = { ...formatConstants(dtype), NORM: F(norm), RESIDUAL: F(residual) };
  if (subgroup) return ['linear_subgroup', { ...groupedConstants(k), TB: block ? k.subgroups!.tokenBlock : 1, ...fused }];
  return ['linear', { WG: k.wg, ...fused }];
}
function qkvVariant(k: Kernels, subgroup: boolean, block: boolean): [ShaderName, Record<string, number>] {
  const kv = { ...formatConstants(k.format), F16KV: F(k.f16KV) };
  if (subgroup) return ['qkv_subgroup', { ...groupedConstants(k), TB: block ? k.subgroups!.tokenBlock : 1, ...kv }];
  return ['qkv', { WG: k.wg, ...kv }];
}
const attentionVariant = (k: Kernels): [ShaderName, Record<string, number>] =>
  (k.subgroups ? ['attention_subgroup', { WG: k.subgroups.wg, RPW: attentionJobsPerWorkgroup(k), F16KV: F(k.f16KV) }] : ['attention', { WG: ATTENTION_WG, F16KV: F(k.f16KV) }]);
/** Workgroups of the router without subgroups hold E x WG partial sums (2,048 floats): 16 invocations above 64 experts. */
const routerVariant = (k: Kernels, E = 8): [ShaderName, Record<string, number>] =>
  (k.subgroups ? ['router_subgroup', sgConstants(k)] : ['router', { WG: E > 64 ? ROUTER_WG / 2 : ROUTER_WG }]);
const weightsVariant = (k: Kernels, shader: ShaderName): [ShaderName, Record<string, number>] => {
  if (shader.endsWith('_subgroup')) {
    return [shader, { ...sgConstants(k), ...(shader.includes('grouped') ? { TB: k.subgroups!.tokenBlock } : {}), ...formatConstants(k.format) }];
  }
  return [shader, { ...(shader.includes('grouped') ? { TILE: k.tile } : { WG: k.wg }), ...formatConstants(k.format) }];
};

/** What a forward of this engine may dispatch (compiled up front by createKernels). */
function engineVariants(k: Kernels): [ShaderName, Record<string, number>][] {
  const dtype = k.format;
  const out: [ShaderName, Record<string, number>][] = [
    ['add', { WG: k.wg }], ['embed', { WG: k.wg, ...formatConstants(k.format) }], attentionVariant(k), ['attention_merge', { WG: ATTENTION_WG }],
    ['attention_apply', { WG: k.wg, F16KV: F(k.f16KV) }], ['moe_combine', { WG: k.wg }], ['moe_group', { WG: k.wg }],
    routerVariant(k), ['sample', { WG: SAMPLE_WG, ARGMAX_ONLY: 0 }], ['sample', { WG: SAMPLE_WG, ARGMAX_ONLY: 1 }],
    qkvVariant(k, false, false), linearVariant(k, dtype, true, false, false, false), linearVariant(k, dtype, false, true, false, false),
    linearVariant(k, dtype, false, false, false, false),
    ...(['moe_gate_up', 'moe_down', 'moe_gate_up_grouped', 'moe_down_grouped'] as const).map((s) => weightsVariant(k, s)),
  ];
  if (k.subgroups) {
    for (const block of [false, true]) {
      out.push(qkvVariant(k, true, block), linearVariant(k, dtype, true, false, true, block), linearVariant(k, dtype, false, true, true, block),
        linearVariant(k, dtype, false, false, true, block));
    }
    out.push(...(['moe_gate_up_subgroup', 'moe_down_subgroup', 'moe_gate_up_grouped_subgroup', 'moe_down_grouped_subgroup'] as const).map((s) => weightsVariant(k, s)));
  }
  return out;
}

// ---- planning helpers

/**
 * Elements per step of a subgroup kernel's walk along a row: a 16-byte word of f32 (4) or of
 * halves (8); q8/q4 take 8 (the f16 layout's word), their rows whole groups of 32.
 */
const perWord = (dtype: WeightFormat) => (dtype === 'f32' ? 4 : 8);
/** Whether rows of these widths are whole steps of this engine's weights. */
const wholeWords = (k: Kernels, ...widths: number[]) => widths.every((n) => n % perWord(k.format) === 0);
/** Quantized rows are whole groups of 32 (weight-layout.ts: fitsFormat). */
function checkGroups(label: string, format: WeightFormat, ...widths: number[]): void {
  if ((format === 'q8' || format === 'q4') && widths.some((n) => n % 32 !== 0)) throw new GpuError(`${label}: ${format} rows must be whole groups of 32 values`);
}

function need(kernel: string, name: string, b: Binding, bytes: number): void {
  const size = regionOf(b).size;
  if (size < bytes) throw new GpuError(`${kernel}: ${name} holds ${size} bytes, needs ${bytes}`);
}

function plan(k: Kernels, [shader, constants]: [ShaderName, Record<string, number>], label: string, params: number[], bindings: Binding[], workgroups: Pass['workgroups'], step?: GPUBuffer): Pass {
  const pipeline = k.pipeline(shader, constants);
  return { ...k.cache.pass(shader, pipeline, label, params, bindings, workgroups, step), kernel: shader };
}

/** A step uniform: what changes from one call to the next, written once per call (session.ts). */
export interface StepUniform { pos0: number; S: number; splits: number; draw: number }
export const stepWords = (s: StepUniform) => Uint32Array.from([s.pos0, s.S, s.splits, s.draw]);

// ---- the kernels

/**
 * out (T, N) = [res +] xn @ w (N, In)^T with xn = rmsnorm(x) * g (with `g`) or x. `res` adds the
 * residual (and `y` gets the product alone); `xn` receives the normalised rows (with `g`).
 * With dtype 'f16', w holds packed half pairs (see f16.ts: packF16) and In must be even. `ldo`
 * (row stride of out, default N) and `col0` (its first column) let the parts of a split weight
 * fill their columns of one output; row t reads x row xRow0 + t.
 */
export function planLinear(k: Kernels, a: {
  x: Binding; w: Binding; out: Binding; T: number; In: number; N: number; dtype: WeightFormat;
  g?: Binding; eps?: number; xn?: Binding; res?: Binding; y?: Binding; ldo?: number; col0?: number; xRow0?: number;
  bias?: Binding; scale?: number;
}): Pass {
  const ldo = a.ldo ?? a.N, col0 = a.col0 ?? 0, xRow0 = a.xRow0 ?? 0;
  const norm = a.g !== undefined, residual = a.res !== undefined;
  const label = `linear_${a.dtype}${norm ? '+norm' : ''}${residual ? '+residual' : ''} T=${a.T} In=${a.In} N=${a.N}`;
  if (a.In % 2 !== 0) throw new GpuError(`${label}: weights are read in pairs, so In must be even`);
  checkGroups(label, a.dtype, a.In);
  if (col0 + a.N > ldo) throw new GpuError(`${label}: columns ${col0}..${col0 + a.N - 1} do not fit rows of ${ldo}`);
  if (residual !== (a.y !== undefined)) throw new GpuError(`${label}: a residual add needs both res and y`);
  need(label, 'x', a.x, 4 * (xRow0 + a.T) * a.In);
  need(label, 'w', a.w, weightBytes(a.dtype, a.N, a.In));
  need(label, 'out', a.out, 4 * a.T * ldo);
  if (a.g) need(label, 'g', a.g, 4 * a.In);
  if (a.res) { need(label, 'res', a.res, 4 * a.T * ldo); need(label, 'y', a.y!, 4 * a.T * ldo); }
  if (a.xn) need(label, 'xn', a.xn, 4 * a.T * a.In);
  if (a.bias) need(label, 'bias', a.bias, 4 * a.N);
  const d = k.dummies;
  const bindings = [a.x, a.g ?? d[0], a.w, a.res ?? d[1], a.y ?? d[2], a.out, a.xn ?? d[3], a.bias ?? d[0]];
  const eps = f32Bits(a.eps ?? 0), writeXn = a.xn ? 1 : 0;
  // The epilogue: + bias, times scale (see linear.wgsl).
  const epilogue = [a.bias ? 1 : 0, f32Bits(a.scale ?? 1), ...regionWords(a.dtype, a.N, a.In)];
  const sg = k.subgroups;
  if (sg && a.In % perWord(a.dtype) === 0) {
    const rowBlocks = Math.ceil(a.N / groupedRows(k));
    const block = a.T > 1;
    return plan(k, linearVariant(k, a.dtype, norm, residual, true, block), label, [a.T, a.In, a.N, ldo, col0, rowBlocks, xRow0, eps, writeXn, ...epilogue], bindings,
      grid(k.device, rowBlocks * Math.ceil(a.T / (block ? sg.tokenBlock : 1))));
  }
  return plan(k, linearVariant(k, a.dtype, norm, residual, false, false), label, [a.T, a.In, a.N, ldo, col0, xRow0, eps, writeXn, ...epilogue], bindings, grid(k.device, a.T * a.N));
}

/** planLinear for a weight held as row parts (a split lm_head): one dispatch per part, xn written once. */
export function planLinearParts(k: Kernels, a: Omit<Parameters<typeof planLinear>[1], 'w' | 'N' | 'ldo' | 'col0' | 'bias'> & { parts: readonly Part[]; N: number }): Pass[] {
  return a.parts.map((p, i) => planLinear(k, { ...a, w: p.buffer, N: p.rows, ldo: a.N, col0: p.row0, xn: i === 0 ? a.xn : undefined }));
}

/** The rotary frequencies (Dh/2) exactly as the CPU twin computes them. */
export function ropeInvFreq(Dh: number, theta: number): Float32Array {
  return Float32Array.from({ length: Dh / 2 }, (_, i) => 1 / Math.pow(theta, (2 * i) / Dh));
}

/** Words of a layer's KV cache per position and head element: where the values start, for `capacity` positions. */
export const kvWords = (k: Pick<Kernels, 'f16KV'>, capacity: number, Hkv: number, Dh: number) => capacity * Hkv * (k.f16KV ? Dh / 2 : Dh);

/**
 * q, k, v of T tokens at positions pos0.. (the step's): xn = rmsnorm(x) * g, q (T, H, Dh) =
 * rope(xn wq^T), k and v (T, Hkv, Dh) = rope(xn wk^T), xn wv^T, written to `qkv` (q, k, v one
 * after the other) and k, v appended to `kv` (the layer's cache of `capacity` positions).
 * `bias` ((H + 2 Hkv) Dh: q's, k's, v's) is added to the products; with `rope` false (families
 * with q/k norms: planQkNorm does the rest) the products are written as they are, no cache.
 */
export function planQkv(k: Kernels, a: {
  x: Binding; g: Binding; eps: number; wq: Binding; wk: Binding; wv: Binding; qkv: Binding; kv: Binding;
  T: number; D: number; H: number; Hkv: number; Dh: number; theta: number; capacity: number; step: GPUBuffer;
  bias?: Binding; rope?: boolean;
}): Pass {
  const label = `qkv T=${a.T} D=${a.D} H=${a.H}/${a.Hkv} Dh=${a.Dh}`;
  if (a.Dh % 2 !== 0 || a.D % 2 !== 0) throw new GpuError(`${label}: D and Dh must be even`);
  if (a.Dh > 2 * 256) throw new GpuError(`${label}: at most 512 elements per head`);
  checkGroups(label, k.format, a.D);
  need(label, 'x', a.x, 4 * a.T * a.D);
  need(label, 'g', a.g, 4 * a.D);
  need(label, 'wq', a.wq, weightBytes(k.format, a.H * a.Dh, a.D));
  need(label, 'wk', a.wk, weightBytes(k.format, a.Hkv * a.Dh, a.D));
  need(label, 'wv', a.wv, weightBytes(k.format, a.Hkv * a.Dh, a.D));
  need(label, 'qkv', a.qkv, 4 * a.T * (a.H + 2 * a.Hkv) * a.Dh);
  const vOffset = kvWords(k, a.capacity, a.Hkv, a.Dh);
  need(label, 'kv', a.kv, 4 * 2 * vOffset);
  const invFreq = new Float32Array(256);
  invFreq.set(ropeInvFreq(a.Dh, a.theta));
  if (a.bias) need(label, 'bias', a.bias, 4 * (a.H + 2 * a.Hkv) * a.Dh);
  const regions = [a.H, a.Hkv, a.Hkv].flatMap((h) => regionWords(k.format, h * a.Dh, a.D)); // q, k, v: (scale, min) words
  const params = [a.T, a.D, a.H, a.Hkv, a.Dh, 0, vOffset, f32Bits(a.eps), ...new Uint32Array(invFreq.buffer), a.bias ? 1 : 0, a.rope === false ? 0 : 1, ...regions];
  const bindings = [a.x, a.g, a.wq, a.wk, a.wv, a.qkv, a.kv, a.bias ?? k.dummies[0]];
  const pairs = (a.H + 2 * a.Hkv) * a.Dh / 2;
  const sg = k.subgroups;
  if (sg && wholeWords(k, a.D)) {
    const rowBlocks = Math.ceil(pairs / groupedRows(k));
    const block = a.T > 1;
    params[5] = rowBlocks;
    return plan(k, qkvVariant(k, true, block), label, params, bindings, grid(k.device, rowBlocks * Math.ceil(a.T / (block ? sg.tokenBlock : 1))), a.step);
  }
  return plan(k, qkvVariant(k, false, false), label, params, bindings, grid(k.device, a.T * pairs), a.step);
}

/**
 * How many ranges of positions a query row's attention is split into (flash-decoding): one for
 * prefill (the rows give the parallelism), and for a decode step one per SPLIT_POSITIONS of the
 * positions it attends to (the window, or the whole context without one).
 */
export function attentionSplits(T: number, S: number, window: number | null): number {
  if (T > 1) return 1;
  const span = Math.min(S, window ?? S);
  return Math.min(MAX_SPLITS, Math.max(1, Math.ceil(span / SPLIT_POSITIONS)));
}

export interface AttentionShape { T: number; H: number; Hkv: number; Dh: number; window: number | null; capacity: number }

/**
 * Attention of T query rows per head over the cache, at the step's positions (attention.wgsl),
 * and the merge of its splits when there are several: z (T, H, Dh) out, and the pattern (H, T, S)
 * at block `patternSlot` of `pattern` when asked for. headScale (H) is 1, or 0 for a zeroed head.
 * `partials` holds T * H * splits records of Dh + 2 floats.
 */
export function planAttention(k: Kernels, a: AttentionShape & {
  qkv: Binding; kv: Binding; headScale: Binding; pattern: Binding | null; patternSlot: number; z: Binding; partials: Binding; splits: number; S: number; step: GPUBuffer;
  /** The scores' scale: 1/√Dh, or Granite's attention_multiplier. */
  scale?: number;
}): Pass[] {
  const label = `attention T=${a.T} H=${a.H}/${a.Hkv} Dh=${a.Dh}`;
  if (a.H % a.Hkv !== 0) throw new GpuError(`${label}: H must be a multiple of Hkv`);
  if (a.Dh > MAX_HEAD_DIM) throw new GpuError(`${label}: at most ${MAX_HEAD_DIM} elements per head`);
  const vOffset = kvWords(k, a.capacity, a.Hkv, a.Dh);
  need(label, 'qkv', a.qkv, 4 * a.T * a.H * a.Dh);
  need(label, 'kv', a.kv, 4 * 2 * vOffset);
  need(label, 'z', a.z, 4 * a.T * a.H * a.Dh);
  need(label, 'partials', a.partials, 4 * a.T * a.H * a.splits * (a.Dh + 2));
  const slot = a.pattern ? a.patternSlot : 0xffffffff;
  if (a.pattern) need(label, 'pattern', a.pattern, 4 * (a.patternSlot + 1) * a.H * a.T * a.S);
  const window = Math.min(a.window ?? 0xffffffff, 0xffffffff);
  const pattern = a.pattern ?? k.dummies[1];
  const jobs = a.T * a.H * a.splits; // (row, split) pairs: a workgroup each, or a subgroup each
  const workgroups = k.subgroups ? Math.ceil(jobs / attentionJobsPerWorkgroup(k)) : jobs;
  const passes = [plan(k, attentionVariant(k), label, [a.T, a.H, a.Hkv, a.Dh, window, f32Bits(a.scale ?? 1 / Math.sqrt(a.Dh)), vOffset, slot],
    [a.qkv, a.kv, a.headScale, pattern, a.z, a.partials], grid(k.device, workgroups), a.step)];
  if (a.splits > 1) {
    passes.push(plan(k, ['attention_merge', { WG: ATTENTION_WG }], `${label} merge`, [a.T, a.H, a.Dh, window, slot],
      [a.partials, a.headScale, pattern, a.z], grid(k.device, a.T * a.H), a.step));
  }
  return passes;
}

/** z (T, H, Dh) from the pattern at block `patternSlot` of `pattern` (a function hook replaced it): see attention_apply.wgsl. */
export function planAttentionApply(k: Kernels, a: AttentionShape & { pattern: Binding; patternSlot: number; kv: Binding; headScale: Binding; z: Binding; step: GPUBuffer }): Pass {
  const label = `attention_apply T=${a.T} H=${a.H}/${a.Hkv}`;
  return plan(k, ['attention_apply', { WG: k.wg, F16KV: F(k.f16KV) }], label, [a.T, a.H, a.Hkv, a.Dh, kvWords(k, a.capacity, a.Hkv, a.Dh), a.patternSlot],
    [a.pattern, a.kv, a.headScale, a.z], grid(k.device, Math.ceil((a.T * a.H * a.Dh) / k.wg)), a.step);
}

/**
 * The router's table of data interventions: the bias (E), the ablated experts (E, 0/1), then the
 * forced-expert rules (see router.wgsl; first match wins, as on the CPU).
 */
export function routerRules(E: number, K: number, iv: { bias: Float32Array | null; ablated: ReadonlySet<number>; force: readonly { experts: number[]; weights?: number[]; positions?: number[] }[] }): Uint32Array {
  const words: number[] = [];
  for (let e = 0; e < E; e++) words.push(f32Bits(iv.bias?.[e] ?? 0));
  for (let e = 0; e < E; e++) words.push(iv.ablated.has(e) ? 1 : 0);
  words.push(iv.force.length);
  for (const f of iv.force) {
    words.push(f.positions ? 0 : 1, f.positions?.length ?? 0, f.weights ? 1 : 0, ...f.experts);
    for (let i = 0; i < K; i++) words.push(f32Bits(f.weights?.[i] ?? 0));
    words.push(...(f.positions ?? []));
  }
  return Uint32Array.from(words);
}

/**
 * The router of T tokens (router.wgsl): xn (T, D) = rmsnorm(x) * g, logits (T, E) = xn gate^T +
 * bias, probs (T, E), choice (indices (T, K), then weights (T, K)). `stage` 1 or 2 reruns it from
 * the logits or the probabilities a function hook replaced.
 */
export function planRouter(k: Kernels, a: {
  T: number; D: number; E: number; K: number; eps: number; stage?: 0 | 1 | 2; x: Binding; g: Binding; gate: Binding; rules: Binding;
  xn: Binding; logits: Binding; probs: Binding; choice: Binding; step: GPUBuffer;
  /** Top-k weights renormalised to sum to 1 (default), or the probabilities themselves (norm_topk_prob false). */
  renorm?: boolean;
}): Pass {
  const label = `router T=${a.T} E=${a.E} K=${a.K}${a.stage ? ` from ${a.stage === 1 ? 'logits' : 'probs'}` : ''}`;
  if (a.E > MAX_EXPERTS) throw new GpuError(`${label}: at most ${MAX_EXPERTS} experts`);
  need(label, 'x', a.x, 4 * a.T * a.D);
  need(label, 'gate', a.gate, 4 * a.E * a.D);
  need(label, 'xn', a.xn, 4 * a.T * a.D);
  need(label, 'logits', a.logits, 4 * a.T * a.E);
  need(label, 'probs', a.probs, 4 * a.T * a.E);
  need(label, 'choice', a.choice, 4 * 2 * a.T * a.K);
  return plan(k, routerVariant(k, a.E), label, [a.T, a.D, a.E, a.K, f32Bits(a.eps), a.stage ?? 0, a.renorm === false ? 0 : 1],
    [a.x, a.g, a.gate, a.rules, a.xn, a.logits, a.probs, a.choice], grid(k.device, k.subgroups ? Math.ceil(a.T / k.subgroups.rowsPerWorkgroup) : a.T), a.step);
}

/**
 * The q/k norms (qk_norm.wgsl) after planQkv with rope false: normed (T, H, Dh) then (T, Hkv, Dh)
 * = RMSNorm of q and k (over each token's projection, or `perHead` over each head) times gq, gk
 * and clamped to ±clip (null: no clamp); then q and k rotated into `qkv`, v clamped there, k and
 * v appended to `kv`. `stage` 1 reruns the rotation and k's append from a replaced `normed`.
 */
export function planQkNorm(k: Kernels, a: {
  qkv: Binding; gq: Binding; gk: Binding; normed: Binding; kv: Binding; T: number; H: number; Hkv: number; Dh: number;
  perHead: boolean; eps: number; clip: number | null; theta: number; capacity: number; step: GPUBuffer; stage?: 0 | 1;
}): Pass {
  const label = `qk_norm T=${a.T} H=${a.H}/${a.Hkv} Dh=${a.Dh}${a.perHead ? ' per head' : ''}${a.stage ? ' from normed' : ''}`;
  if (a.Dh % 2 !== 0 || a.Dh > 512) throw new GpuError(`${label}: Dh must be even, at most 512`);
  need(label, 'qkv', a.qkv, 4 * a.T * (a.H + 2 * a.Hkv) * a.Dh);
  need(label, 'gq', a.gq, 4 * (a.perHead ? a.Dh : a.H * a.Dh));
  need(label, 'gk', a.gk, 4 * (a.perHead ? a.Dh : a.Hkv * a.Dh));
  need(label, 'normed', a.normed, 4 * a.T * (a.H + a.Hkv) * a.Dh);
  const vOffset = kvWords(k, a.capacity, a.Hkv, a.Dh);
  need(label, 'kv', a.kv, 4 * 2 * vOffset);
  const invFreq = new Float32Array(256);
  invFreq.set(ropeInvFreq(a.Dh, a.theta));
  const params = [...new Uint32Array(invFreq.buffer), a.T, a.H, a.Hkv, a.Dh, a.perHead ? 1 : 0, a.stage ?? 0, vOffset, f32Bits(a.eps), f32Bits(a.clip ?? 0)];
  const jobs = a.T * ((a.perHead ? a.H + a.Hkv : 2) + 1);
  return plan(k, ['qk_norm', { WG: k.wg, F16KV: F(k.f16KV) }], label, params, [a.qkv, a.gq, a.gk, a.normed, a.kv], grid(k.device, jobs), a.step);
}

/** out (T, D) = rmsnorm(x) * g (rmsnorm.wgsl): a dense layer's MLP input, which no kernel folds in. */
export function planRmsnorm(k: Kernels, a: { x: Binding; g: Binding; out: Binding; T: number; D: number; eps: number }): Pass {
  const label = `rmsnorm T=${a.T} D=${a.D}`;
  need(label, 'x', a.x, 4 * a.T * a.D);
  need(label, 'g', a.g, 4 * a.D);
  need(label, 'out', a.out, 4 * a.T * a.D);
  return plan(k, ['rmsnorm', { WG: k.wg }], label, [a.T, a.D, f32Bits(a.eps)], [a.x, a.g, a.out], grid(k.device, a.T));
}

/**
 * The shared expert's gate and the sum (shared_gate.wgsl): gate (T) = sigmoid(xn wg), mlpOut
 * (T, D) = scale (routed + gate * shared), out = res + mlpOut. `stage` 1 takes the gate as given.
 */
export function planSharedGate(k: Kernels, a: {
  xn: Binding; wg: Binding; routed: Binding; shared: Binding; res: Binding; gate: Binding; mlpOut: Binding; out: Binding;
  T: number; D: number; scale?: number; stage?: 0 | 1;
}): Pass {
  const label = `shared_gate T=${a.T} D=${a.D}${a.stage ? ' from gate' : ''}`;
  need(label, 'wg', a.wg, 4 * a.D);
  need(label, 'gate', a.gate, 4 * a.T);
  for (const [name, b] of [['xn', a.xn], ['routed', a.routed], ['shared', a.shared], ['res', a.res], ['mlpOut', a.mlpOut], ['out', a.out]] as const) need(label, name, b, 4 * a.T * a.D);
  return plan(k, ['shared_gate', { WG: k.wg }], label, [a.T, a.D, a.stage ?? 0, f32Bits(a.scale ?? 1)],
    [a.xn, a.wg, a.routed, a.shared, a.res, a.gate, a.mlpOut, a.out], grid(k.device, a.T));
}

/** out (n) = a + b: the residual add again, when a fused kernel's input was replaced. */
export function planAdd(k: Kernels, a: { a: Binding; b: Binding; out: Binding; n: number }): Pass {
  const label = `add n=${a.n}`;
  for (const [name, b] of [['a', a.a], ['b', a.b], ['out', a.out]] as const) need(label, name, b, 4 * a.n);
  return plan(k, ['add', { WG: k.wg }], label, [a.n], [a.a, a.b, a.out], grid(k.device, Math.ceil(a.n / k.wg)));
}

/**
 * x (T, D) = embed[ids[t]] with embed (V, D) in the kernels' format (packed halves, D even; f32;
 * q8/q4, D % 32 == 0); ids a u32 buffer of T. `row0`/`rows` say which vocabulary rows the buffer
 * holds when the table is split in parts (required for q8/q4, whose regions are placed by rows).
 */
export function planEmbed(k: Kernels, a: { ids: Binding; embed: GPUBuffer; x: Binding; T: number; D: number; row0?: number; rows?: number; scale?: number }): Pass {
  const label = `embed T=${a.T} D=${a.D}`;
  if (a.D % 2 !== 0) throw new GpuError(`${label}: D must be even for packed halves`);
  checkGroups(label, k.format, a.D);
  if (a.rows === undefined && (k.format === 'q8' || k.format === 'q4')) throw new GpuError(`${label}: a ${k.format} table needs its rows`);
  const rows = a.rows ?? Math.floor(a.embed.size / ((k.f16Weights ? 2 : 4) * a.D));
  need(label, 'ids', a.ids, 4 * a.T);
  need(label, 'x', a.x, 4 * a.T * a.D);
  need(label, 'embed', a.embed, weightBytes(k.format, rows, a.D));
  return plan(k, ['embed', { WG: k.wg, ...formatConstants(k.format) }], label, [a.T, a.D, a.row0 ?? 0, rows, f32Bits(a.scale ?? 1), ...regionWords(k.format, rows, a.D)],
    [a.ids, a.embed, a.x], grid(k.device, Math.ceil((a.T * a.D) / k.wg)));
}

/**
 * The chosen experts of T tokens, decode style (each a matrix-vector product):
 * h (T*K, F) = silu(w1[e] x) * (w3[e] x), expertOut (T*K, D) = w2[e] h, mlpOut (T, D) =
 * sum_k weight_k * expertOut and out (T, D) = res + mlpOut. Expert weights are all experts of a
 * layer in one buffer: w1, w3 (E, F, D), w2 (E, D, F) with E = `experts` (1 for the shared
 * expert and a dense MLP; q8/q4 place their scales by it); choice is the router's (indices, weights).
 */
export function planExperts(k: Kernels, a: {
  T: number; K: number; D: number; F: number; x: Binding; choice: Binding; w1: Binding; w3: Binding; w2: Binding;
  h: Binding; res: Binding; expertOut: Binding; mlpOut: Binding; out: Binding;
  /** mlpOut's factor before the residual add: Granite's residual_multiplier, else 1. */
  scale?: number;
  /** Experts the weight buffers hold (required for q8/q4). */
  experts?: number;
}): Pass[] {
  const label = `experts T=${a.T} K=${a.K} D=${a.D} F=${a.F}`;
  if (a.D % 2 !== 0 || a.F % 2 !== 0) throw new GpuError(`${label}: D and F must be even for packed halves`);
  checkGroups(label, k.format, a.D, a.F);
  if (a.experts === undefined && (k.format === 'q8' || k.format === 'q4')) throw new GpuError(`${label}: ${k.format} experts need their count`);
  const E = a.experts ?? 1;
  for (const [name, b] of [['w1', a.w1], ['w3', a.w3]] as const) need(label, name, b, a.experts === undefined ? 0 : weightBytes(k.format, E * a.F, a.D));
  if (a.experts !== undefined) need(label, 'w2', a.w2, weightBytes(k.format, E * a.D, a.F));
  const up = regionWords(k.format, E * a.F, a.D), down = regionWords(k.format, E * a.D, a.F);
  need(label, 'choice', a.choice, 4 * 2 * a.T * a.K);
  need(label, 'h', a.h, 4 * a.T * a.K * a.F);
  need(label, 'expertOut', a.expertOut, 4 * a.T * a.K * a.D);
  for (const [name, b] of [['res', a.res], ['mlpOut', a.mlpOut], ['out', a.out]] as const) need(label, name, b, 4 * a.T * a.D);
  const sg = k.subgroups;
  if (sg && wholeWords(k, a.D, a.F)) {
    const fBlocks = Math.ceil(a.F / sg.rowsPerWorkgroup), dBlocks = Math.ceil(a.D / sg.rowsPerWorkgroup);
    return [
      plan(k, weightsVariant(k, 'moe_gate_up_subgroup'), `${label} gate/up`, [a.T * a.K, a.K, a.D, a.F, fBlocks, ...up], [a.x, a.choice, a.w1, a.w3, a.h], grid(k.device, a.T * a.K * fBlocks)),
      plan(k, weightsVariant(k, 'moe_down_subgroup'), `${label} down`, [a.T, a.K, a.D, a.F, dBlocks, f32Bits(a.scale ?? 1), ...down], [a.h, a.choice, a.w2, a.res, a.expertOut, a.mlpOut, a.out], grid(k.device, a.T * dBlocks)),
    ];
  }
  return [
    plan(k, weightsVariant(k, 'moe_gate_up'), `${label} gate/up`, [a.T, a.K, a.D, a.F, ...up], [a.x, a.choice, a.w1, a.w3, a.h], grid(k.device, a.T * a.K * a.F)),
    plan(k, weightsVariant(k, 'moe_down'), `${label} down`, [a.T, a.K, a.D, a.F, f32Bits(a.scale ?? 1), ...down], [a.h, a.choice, a.w2, a.res, a.expertOut, a.mlpOut, a.out], grid(k.device, a.T * a.D)),
  ];
}

/**
 * The experts for many tokens (prefill), grouped by expert on the GPU: moe_group lists each
 * expert's (token, slot) pairs from the choice, then per expert and tile of its slots the tiled
 * kernels compute h (T*K, F) and expertOut (T*K, D) reading each weight once per tile, and
 * moe_combine sums mlpOut (T, D) = sum_k weights * expertOut in slot order and adds the residual
 * (out = res + mlpOut). w1, w3 (E, F, D) and w2 (E, D, F) may be split into parts of whole experts
 * (row0 = first expert, rows = experts): one dispatch per part. offsets (E+1) and order (T*K) are
 * u32 scratch.
 */
export function planExpertsGrouped(k: Kernels, a: {
  T: number; K: number; E: number; D: number; F: number; x: Binding; choice: Binding;
  w1: readonly Part[]; w3: readonly Part[]; w2: readonly Part[]; offsets: Binding; order: Binding; h: Binding;
  res: Binding; expertOut: Binding; mlpOut: Binding; out: Binding; scale?: number;
}): Pass[] {
  const label = `experts T=${a.T} K=${a.K} D=${a.D} F=${a.F}`;
  if (a.D % 2 !== 0 || a.F % 2 !== 0) throw new GpuError(`${label}: D and F must be even for packed halves`);
  if (a.E > MAX_EXPERTS) throw new GpuError(`${label}: at most ${MAX_EXPERTS} experts`);
  checkGroups(label, k.format, a.D, a.F);
  // Each part is its own layout: its scales follow its own q region (weight-layout.ts).
  const up = (p: Part) => regionWords(k.format, p.rows * a.F, a.D), down = (p: Part) => regionWords(k.format, p.rows * a.D, a.F);
  const slots = a.T * a.K;
  need(label, 'offsets', a.offsets, 4 * (a.E + 1));
  need(label, 'order', a.order, 4 * slots);
  need(label, 'h', a.h, 4 * slots * a.F);
  need(label, 'expertOut', a.expertOut, 4 * slots * a.D);
  for (const [name, b] of [['res', a.res], ['mlpOut', a.mlpOut], ['out', a.out]] as const) need(label, name, b, 4 * a.T * a.D);
  // An expert may hold every slot (forced experts put all tokens on the same ones).
  const group = plan(k, ['moe_group', { WG: k.wg }], `${label} group`, [slots, a.E], [a.choice, a.offsets, a.order], [1, 1, 1]);
  const combine = plan(k, ['moe_combine', { WG: k.wg }], `${label} combine`, [a.T, a.K, a.D, f32Bits(a.scale ?? 1)], [a.choice, a.expertOut, a.res, a.mlpOut, a.out], grid(k.device, Math.ceil((a.T * a.D) / k.wg)));
  const sg = k.subgroups;
  if (sg && wholeWords(k, a.D, a.F)) {
    const tiles = Math.ceil(slots / sg.tokenBlock);
    const fBlocks = Math.ceil(a.F / sg.rowsPerWorkgroup), dBlocks = Math.ceil(a.D / sg.rowsPerWorkgroup);
    return [
      group,
      ...a.w1.map((p, i) => plan(k, weightsVariant(k, 'moe_gate_up_grouped_subgroup'), `${label} gate/up grouped`, [a.K, a.D, a.F, tiles, p.row0, p.rows, fBlocks, ...up(p)],
        [a.x, a.offsets, a.order, p.buffer, a.w3[i].buffer, a.h], grid(k.device, fBlocks * tiles * p.rows))),
      ...a.w2.map((p) => plan(k, weightsVariant(k, 'moe_down_grouped_subgroup'), `${label} down grouped`, [a.D, a.F, tiles, p.row0, p.rows, dBlocks, ...down(p)],
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
    ...grouped(a.w1, (p, i) => plan(k, weightsVariant(k, 'moe_gate_up_grouped'), `${label} gate/up grouped`, [a.K, a.D, a.F, tiles, p.row0, ...up(p)],
      [a.x, a.offsets, a.order, p.buffer, a.w3[i].buffer, a.h], [tilesOf(a.F), p.rows * tiles, 1])),
    ...grouped(a.w2, (p) => plan(k, weightsVariant(k, 'moe_down_grouped'), `${label} down grouped`, [a.D, a.F, tiles, p.row0, ...down(p)],
      [a.h, a.offsets, a.order, p.buffer, a.expertOut], [tilesOf(a.D), p.rows * tiles, 1])),
    combine,
  ];
}

/** Words of the sampler's result record for n candidates: token, n, mass (2 words), ids (n), weights (n). */
export const sampleWords = (n: number) => 4 + 2 * n;

/**
 * The next token from the row of logits at float `row` of `logits` (V): the argmax, or a draw
 * with `sampling` (see engine/sampling.ts and sample.wgsl), and the `candidates` most likely
 * tokens; into `out` (sampleWords(candidates) words) and ids[0] (the next call's input). The
 * draw's index comes from the step uniform.
 */
export function planSample(k: Kernels, a: { logits: Binding; row: number; V: number; sampling: SamplingOptions | null; candidates: number; out: Binding; ids: Binding; step: GPUBuffer }): Pass {
  const label = `sample V=${a.V}`;
  if (a.V > 2 ** 18) throw new GpuError(`${label}: at most ${2 ** 18} tokens in the vocabulary`);
  if (a.candidates > MAX_CANDIDATES) throw new GpuError(`${label}: at most ${MAX_CANDIDATES} candidates`);
  need(label, 'logits', a.logits, 4 * (a.row + a.V));
  need(label, 'out', a.out, 4 * sampleWords(a.candidates));
  const s = samplingConstants(a.sampling ?? {});
  const one = samplingConstants({ temperature: 1 });
  const params = [a.V, a.row, s.greedy ? 1 : 0, s.topK, s.topP === null ? 0 : 1, s.topP ?? 0, f32Bits(s.c), f32Bits(s.dmax),
    s.seed, a.candidates, f32Bits(one.c), f32Bits(one.dmax), expTable().length];
  // The argmax alone (greedy, no candidates): a variant without the sampler's code.
  const argmaxOnly = s.greedy && a.candidates === 0;
  return plan(k, ['sample', { WG: SAMPLE_WG, ARGMAX_ONLY: F(argmaxOnly) }], label, params, [a.logits, k.expTable, a.out, a.ids], [1, 1, 1], a.step);
}

/** The bench's roof: read `words` 16-byte words of `src` once (stream_read.wgsl). */
export function planStreamRead(k: Kernels, a: { src: GPUBuffer; words: number; out: GPUBuffer; workgroups: number }): Pass {
  need('stream_read', 'src', a.src, 16 * a.words);
  need('stream_read', 'out', a.out, 4 * a.workgroups);
  return plan(k, ['stream_read', { WG: 256 }], `stream_read words=${a.words}`, [a.words], [a.src, a.out], grid(k.device, a.workgroups));
}

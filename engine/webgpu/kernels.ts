// Host side of the kernels: compile each shader once, then plan a dispatch as a Pass from
// buffers and sizes. Planning checks shapes against buffer sizes here, where the message can
// name the kernel, and writes the sizes into a small uniform buffer owned by the pass.
// Shapes: T tokens, D hidden, In/N a linear layer's input/output width, Dh head width.
import { GpuError, bindBuffers, createPipeline, createStorage, createUniform, f32Bits, grid, type Pass } from './gpu.ts';
import { WGSL, type ShaderName } from './shaders.ts';

/** The compiled kernels of one device. */
export interface Kernels {
  device: GPUDevice;
  /** Invocations per workgroup of every kernel (a power of two). */
  wg: number;
  pipelines: Record<ShaderName, GPUComputePipeline>;
}

/** Compile every kernel for `device`, with workgroups of `wg` invocations. */
export async function createKernels(device: GPUDevice, { wg = 64 } = {}): Promise<Kernels> {
  if (!Number.isInteger(wg) || wg < 1 || (wg & (wg - 1)) !== 0 || wg > device.limits.maxComputeInvocationsPerWorkgroup) {
    throw new GpuError(`workgroup size ${wg} must be a power of two of at most ${device.limits.maxComputeInvocationsPerWorkgroup}`);
  }
  const names = Object.keys(WGSL) as ShaderName[];
  const built = await Promise.all(names.map((name) => createPipeline(device, name, WGSL[name], { WG: wg })));
  return { device, wg, pipelines: Object.fromEntries(names.map((name, i) => [name, built[i]])) as Record<ShaderName, GPUComputePipeline> };
}

function need(kernel: string, name: string, buffer: GPUBuffer, bytes: number): void {
  if (buffer.size < bytes) throw new GpuError(`${kernel}: ${name} holds ${buffer.size} bytes, needs ${bytes}`);
}

function plan(k: Kernels, name: ShaderName, label: string, params: number[], buffers: GPUBuffer[], workgroups: Pass['workgroups'], scratch: GPUBuffer[] = []): Pass {
  const uniform = createUniform(k.device, `${label} params`, params);
  const pipeline = k.pipelines[name];
  return { label, pipeline, bindGroup: bindBuffers(k.device, label, pipeline, [uniform, ...buffers]), workgroups, scratch: [uniform, ...scratch] };
}

/** out (T, D) = rmsnorm(x (T, D)) * w (D). */
export function planRmsnorm(k: Kernels, a: { x: GPUBuffer; w: GPUBuffer; out: GPUBuffer; T: number; D: number; eps: number }): Pass {
  const label = `rmsnorm T=${a.T} D=${a.D}`;
  need(label, 'x', a.x, 4 * a.T * a.D);
  need(label, 'w', a.w, 4 * a.D);
  need(label, 'out', a.out, 4 * a.T * a.D);
  return plan(k, 'rmsnorm', label, [a.T, a.D, f32Bits(a.eps)], [a.x, a.w, a.out], grid(k.device, a.T));
}

/**
 * out (T, N) = x (T, In) @ w (N, In)^T. With dtype 'f16', w holds packed half pairs (see f16.ts:
 * packF16) and In must be even.
 */
export function planMatmul(k: Kernels, a: { x: GPUBuffer; w: GPUBuffer; out: GPUBuffer; T: number; In: number; N: number; dtype: 'f16' | 'f32' }): Pass {
  const label = `matmul_${a.dtype} T=${a.T} In=${a.In} N=${a.N}`;
  if (a.dtype === 'f16' && a.In % 2 !== 0) throw new GpuError(`${label}: f16 weights are read in pairs, so In must be even`);
  need(label, 'x', a.x, 4 * a.T * a.In);
  need(label, 'w', a.w, (a.dtype === 'f16' ? 2 : 4) * a.N * a.In);
  need(label, 'out', a.out, 4 * a.T * a.N);
  return plan(k, `matmul_${a.dtype}`, label, [a.T, a.In, a.N], [a.x, a.w, a.out], grid(k.device, a.T * a.N));
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
  const invFreq = createStorage(k.device, `${label} invFreq`, ropeInvFreq(a.Dh, a.theta));
  const jobs = Math.ceil((a.T * a.heads * a.Dh) / 2 / k.wg);
  return plan(k, 'rope', label, [a.T, a.heads, a.Dh, a.pos0], [invFreq, a.x], grid(k.device, jobs), [invFreq]);
}

/** g (n) = silu(g) * u (n), in place. */
export function planSiluMul(k: Kernels, a: { g: GPUBuffer; u: GPUBuffer; n: number }): Pass {
  const label = `silu_mul n=${a.n}`;
  need(label, 'g', a.g, 4 * a.n);
  need(label, 'u', a.u, 4 * a.n);
  return plan(k, 'silu_mul', label, [a.n], [a.u, a.g], grid(k.device, Math.ceil(a.n / k.wg)));
}

/** out (n) += x (n), in place. */
export function planAdd(k: Kernels, a: { out: GPUBuffer; x: GPUBuffer; n: number }): Pass {
  const label = `add n=${a.n}`;
  need(label, 'out', a.out, 4 * a.n);
  need(label, 'x', a.x, 4 * a.n);
  return plan(k, 'add', label, [a.n], [a.x, a.out], grid(k.device, Math.ceil(a.n / k.wg)));
}

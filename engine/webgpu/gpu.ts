// The GPU layer: a handful of verbs over a GPUDevice and plain values.
// Buffers are created from typed arrays or sizes, kernels are pipelines built from WGSL text,
// work is a list of plain-data passes, one loop encodes them, and results are read back.
// Everything that WebGPU validates runs inside an error scope and throws on failure, so a
// mistake surfaces at the call that made it rather than as a console warning.

/** One dispatch of one kernel: plain data that can be logged, tested, timed and shown. */
export interface Pass {
  label: string;
  pipeline: GPUComputePipeline;
  /** Bound at group 0: params, inputs, outputs, in that order. */
  bindGroup: GPUBindGroup;
  workgroups: [x: number, y: number, z: number];
  /** Buffers made for this pass alone (its params); `releasePasses` destroys them. */
  scratch: GPUBuffer[];
}

/** A WebGPU validation or out-of-memory error, named after the call that caused it. */
export class GpuError extends Error {
  override readonly name: string = 'GpuError';
}

/**
 * The device is gone (driver reset, GPU process crash, `device.destroy()`): every call on the
 * engine now fails with this. The caller moves to the CPU engine or creates a new GPU engine.
 */
export class DeviceLostError extends GpuError {
  override readonly name = 'DeviceLostError';
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

// GPUBufferUsage and GPUMapMode as numbers: in Node they are globals only after Dawn is loaded.
const MAP_READ = 0x0001, COPY_SRC = 0x0004, COPY_DST = 0x0008, UNIFORM = 0x0040, STORAGE = 0x0080;

/**
 * Run `fn` inside validation and out-of-memory error scopes and throw what they caught.
 * `fn` must be synchronous: error scopes are a per-device stack, and an await inside the scope
 * would let unrelated work land in it.
 */
export async function validated<R>(device: GPUDevice, what: string, fn: () => R): Promise<R> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: R | undefined, thrown: unknown = null;
  try { result = fn(); } catch (e) { thrown = e; }
  const invalid = device.popErrorScope();
  const oom = device.popErrorScope();
  const [v, m] = await Promise.all([invalid, oom]);
  if (thrown) throw thrown;
  if (v) throw new GpuError(`${what}: WebGPU validation error: ${v.message}`);
  if (m) throw new GpuError(`${what}: out of GPU memory: ${m.message}`);
  return result as R;
}

// Buffer sizes must be multiples of 4 (for copies) and, for bindings, non-zero.
const padded = (bytes: number, to = 4) => Math.max(to, Math.ceil(bytes / to) * to);

function checkSize(device: GPUDevice, label: string, bytes: number): void {
  const max = Math.min(device.limits.maxBufferSize, device.limits.maxStorageBufferBindingSize);
  if (bytes > max) throw new GpuError(`${label}: ${bytes} bytes exceeds this device's largest storage buffer (${max} bytes: maxStorageBufferBindingSize ${device.limits.maxStorageBufferBindingSize}, maxBufferSize ${device.limits.maxBufferSize})`);
}

/** A storage buffer holding a copy of `data` (any typed array); readable back and writable. */
export function createStorage(device: GPUDevice, label: string, data: ArrayBufferView): GPUBuffer {
  checkSize(device, label, data.byteLength);
  const buffer = device.createBuffer({ label, size: padded(data.byteLength), usage: STORAGE | COPY_SRC | COPY_DST, mappedAtCreation: true });
  new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  buffer.unmap();
  return buffer;
}

/** A zero-filled storage buffer of `byteLength` bytes. */
export function createEmpty(device: GPUDevice, label: string, byteLength: number): GPUBuffer {
  checkSize(device, label, byteLength);
  return device.createBuffer({ label, size: padded(byteLength), usage: STORAGE | COPY_SRC | COPY_DST });
}

/** A buffer the CPU maps to read what the GPU copied into it. */
export function createReadback(device: GPUDevice, label: string, byteLength: number): GPUBuffer {
  return device.createBuffer({ label, size: padded(byteLength), usage: MAP_READ | COPY_DST });
}

/** A uniform buffer of 32-bit words (write f32 fields with `f32Bits`). */
export function createUniform(device: GPUDevice, label: string, words: readonly number[]): GPUBuffer {
  const buffer = device.createBuffer({ label, size: padded(4 * words.length, 16), usage: UNIFORM | COPY_DST, mappedAtCreation: true });
  new Uint32Array(buffer.getMappedRange()).set(words);
  buffer.unmap();
  return buffer;
}

const bits = new DataView(new ArrayBuffer(4));
/** The bit pattern of `v` as a float32, for f32 fields of a uniform struct. */
export function f32Bits(v: number): number {
  bits.setFloat32(0, v, true);
  return bits.getUint32(0, true);
}

/** A compute pipeline from WGSL source, entry point `main`, with `override` constants set. */
export async function createPipeline(
  device: GPUDevice, label: string, code: string, constants: Record<string, number> = {},
): Promise<GPUComputePipeline> {
  return validated(device, `pipeline ${label}`, () => device.createComputePipeline({
    label,
    layout: 'auto',
    compute: { module: device.createShaderModule({ label, code }), entryPoint: 'main', constants },
  }));
}

/** Bind `buffers` at group 0, bindings 0, 1, 2, ... in the order given. */
export function bindBuffers(device: GPUDevice, label: string, pipeline: GPUComputePipeline, buffers: readonly GPUBuffer[]): GPUBindGroup {
  return device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
}

/**
 * Workgroups for `count` independent workgroup-sized jobs, folded into y when x would exceed the
 * device's per-dimension limit. Shaders recover the job as wid.x + wid.y * num_workgroups.x.
 */
export function grid(device: GPUDevice, count: number): [number, number, number] {
  const max = device.limits.maxComputeWorkgroupsPerDimension;
  if (count <= max) return [Math.max(count, 1), 1, 1];
  const y = Math.ceil(count / max);
  if (y > max) throw new GpuError(`${count} workgroups do not fit in a ${max} x ${max} grid`);
  return [max, y, 1];
}

/** Encode `passes` into one command buffer, as dispatches of one compute pass (run in order). */
export function encode(device: GPUDevice, passes: readonly Pass[], label = 'passes'): GPUCommandBuffer {
  const encoder = device.createCommandEncoder({ label });
  const pass = encoder.beginComputePass({ label });
  for (const p of passes) {
    pass.setPipeline(p.pipeline);
    pass.setBindGroup(0, p.bindGroup);
    pass.dispatchWorkgroups(...p.workgroups);
  }
  pass.end();
  return encoder.finish();
}

/** Encode and submit `passes`; throws on any validation error in them. */
export async function submit(device: GPUDevice, passes: readonly Pass[], label = 'passes'): Promise<void> {
  await validated(device, label, () => device.queue.submit([encode(device, passes, label)]));
}

/** Destroy the per-pass buffers of `passes` (once the GPU work using them is submitted). */
export function releasePasses(passes: readonly Pass[]): void {
  for (const p of passes) for (const b of p.scratch) b.destroy();
}

/** Copy `byteLength` bytes of `buffer` (all of it by default) back to the CPU. */
export async function readBuffer(device: GPUDevice, buffer: GPUBuffer, byteLength = buffer.size): Promise<ArrayBuffer> {
  const size = padded(byteLength);
  const staging = await validated(device, `read ${buffer.label}`, () => {
    const s = device.createBuffer({ label: `${buffer.label} (readback)`, size, usage: MAP_READ | COPY_DST });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, s, 0, size);
    device.queue.submit([encoder.finish()]);
    return s;
  });
  try {
    await staging.mapAsync(MAP_READ);
    return staging.getMappedRange(0, size).slice(0, byteLength);
  } finally {
    staging.destroy();
  }
}

/** `n` floats of `buffer` as a Float32Array. */
export async function readF32(device: GPUDevice, buffer: GPUBuffer, n: number): Promise<Float32Array> {
  return new Float32Array(await readBuffer(device, buffer, 4 * n));
}

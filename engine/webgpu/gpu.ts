// The GPU layer: a handful of verbs over a GPUDevice and plain values.
// Buffers are created from typed arrays or sizes, tensors live in regions of buffers, kernels are
// pipelines built from WGSL text, work is a list of plain-data steps (passes and copies), one loop
// encodes them (with timestamps when asked), and one function maps what comes back. Every verb
// that reaches the device can count what it did (`Counters`: the bench's per-token figures).
// Setup runs inside error scopes and throws on failure, so a mistake surfaces at the call that
// made it; the steady state of a decode loop awaits none (see session.ts).

/** Where a tensor lives: `size` bytes of `buffer` from `offset` (a multiple of the device's minStorageBufferOffsetAlignment when bound). */
export interface Region { buffer: GPUBuffer; offset: number; size: number }

/** A whole buffer, or a region of one: what a pass binds. */
export type Binding = GPUBuffer | Region;

export const regionOf = (b: Binding): Region => ('buffer' in b ? b : { buffer: b, offset: 0, size: b.size });

/** One dispatch of one kernel: plain data that can be logged, tested, timed and shown. */
export interface Pass {
  label: string;
  /** The kernel (shader) it runs, for profiles and tests. */
  kernel?: string;
  pipeline: GPUComputePipeline;
  /** Bound at group 0: params, inputs, outputs, in that order. */
  bindGroup: GPUBindGroup;
  workgroups: [x: number, y: number, z: number];
}

/** A copy of `size` bytes between buffers, in order with the passes around it. */
export interface Copy { src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number }

/** GPU work as a list: dispatches and copies, run in order. */
export type Step = Pass | Copy;

export const copy = (src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): Copy => ({ src, srcOffset, dst, dstOffset, size });

/** What reached the device, counted: dispatches, compute passes, buffer copies, maps, queue writes, and error scopes awaited. */
export interface Counters { dispatches: number; passes: number; copies: number; maps: number; writes: number; scopes: number }

export const newCounters = (): Counters => ({ dispatches: 0, passes: 0, copies: 0, maps: 0, writes: 0, scopes: 0 });

/** b - a, field by field. */
export const countersSince = (a: Counters, b: Counters): Counters => ({
  dispatches: b.dispatches - a.dispatches, passes: b.passes - a.passes, copies: b.copies - a.copies,
  maps: b.maps - a.maps, writes: b.writes - a.writes, scopes: b.scopes - a.scopes,
});

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

  static from(info: GPUDeviceLostInfo): DeviceLostError {
    return new DeviceLostError(info.reason, `the WebGPU device was lost (${info.reason}: ${info.message}); create the engine again, or fall back to the CPU engine`);
  }
}

// GPUBufferUsage and GPUMapMode as numbers: in Node they are globals only after Dawn is loaded.
const MAP_READ = 0x0001, COPY_SRC = 0x0004, COPY_DST = 0x0008, UNIFORM = 0x0040, STORAGE = 0x0080, QUERY_RESOLVE = 0x0200;

/**
 * Run `fn` inside validation and out-of-memory error scopes and throw what they caught.
 * `fn` must be synchronous: error scopes are a per-device stack, and an await inside the scope
 * would let unrelated work land in it.
 */
export async function validated<R>(device: GPUDevice, what: string, fn: () => R, counters?: Counters): Promise<R> {
  const { result, error } = scoped(device, what, fn, counters);
  const caught = await error;
  if (caught) throw caught;
  return result;
}

/**
 * `validated` without the wait: `fn`'s result now, and `error`, what the scopes caught (a
 * GpuError, or null once they caught nothing). The caller goes on (submits the work it planned)
 * and awaits `error` when it next waits anyway, so the check costs no round trip of its own.
 */
export function scoped<R>(device: GPUDevice, what: string, fn: () => R, counters?: Counters): { result: R; error: Promise<GpuError | null> } {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: R | undefined, thrown: unknown = null;
  try { result = fn(); } catch (e) { thrown = e; }
  const invalid = device.popErrorScope();
  const oom = device.popErrorScope();
  if (counters) counters.scopes++;
  const error = Promise.all([invalid, oom]).then(([v, m]) => {
    if (v) return new GpuError(`${what}: WebGPU validation error: ${v.message}`);
    if (m) return new GpuError(`${what}: out of GPU memory: ${m.message}`);
    return null;
  });
  if (thrown) throw thrown;
  return { result: result as R, error };
}

// Buffer sizes must be multiples of 4 (for copies) and, for bindings, non-zero.
export const padded = (bytes: number, to = 4) => Math.max(to, Math.ceil(bytes / to) * to);

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

/**
 * A zero-filled storage buffer of `byteLength` bytes. `regions` allows a buffer larger than one
 * binding, bound a region at a time (the capture buffer), up to the device's maxBufferSize.
 */
export function createEmpty(device: GPUDevice, label: string, byteLength: number, { regions = false } = {}): GPUBuffer {
  if (regions) {
    if (byteLength > device.limits.maxBufferSize) throw new GpuError(`${label}: ${byteLength} bytes exceeds this device's maxBufferSize (${device.limits.maxBufferSize})`);
  } else checkSize(device, label, byteLength);
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

/** A buffer that timestamp queries resolve into, copied from there to a readback buffer. */
export function createResolve(device: GPUDevice, label: string, byteLength: number): GPUBuffer {
  return device.createBuffer({ label, size: padded(byteLength, 8), usage: QUERY_RESOLVE | COPY_SRC });
}

/** queue.writeBuffer, counted. */
export function write(device: GPUDevice, buffer: GPUBuffer, offset: number, data: ArrayBufferView<ArrayBuffer>, counters?: Counters): void {
  device.queue.writeBuffer(buffer, offset, data);
  if (counters) counters.writes++;
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

/** Bind `bindings` (buffers or regions of them) at group 0, bindings 0, 1, 2, ... in the order given. */
export function bindBuffers(device: GPUDevice, label: string, pipeline: GPUComputePipeline, bindings: readonly Binding[]): GPUBindGroup {
  return device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: bindings.map((b, binding) => {
      const r = regionOf(b);
      return { binding, resource: { buffer: r.buffer, offset: r.offset, size: r.size } };
    }),
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

/**
 * Timestamps around the passes of a submission: 'each' times every pass on its own (each in a
 * compute pass of its own), 'all' times the whole list at once, from the first pass to the last.
 */
export type Timestamps = 'each' | 'all';

/** Where 'all' writes its pair of timestamps: query `index` (begin) and `index + 1` (end) of `querySet`. */
export interface TimestampSlot { querySet: GPUQuerySet; index: number }

/**
 * The one encode loop: append `steps` to `encoder`. Dispatches between two copies share one
 * compute pass (WebGPU orders them and makes each one's writes visible to the next). With
 * `timestamps` 'each', every dispatch gets a pass of its own and the pair 2q, 2q + 1 of `slot`'s
 * query set; with 'all', the first pass writes the beginning and the last the end at `slot.index`.
 */
export function encode(encoder: GPUCommandEncoder, steps: readonly Step[], { label = 'steps', timestamps, slot, counters }: { label?: string; timestamps?: Timestamps; slot?: TimestampSlot; counters?: Counters } = {}): void {
  let pass: GPUComputePassEncoder | null = null;
  let q = 0; // dispatches encoded so far
  const lastDispatch = steps.findLastIndex((s) => 'pipeline' in s);
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    if (!('pipeline' in s)) {
      pass?.end();
      pass = null;
      encoder.copyBufferToBuffer(s.src, s.srcOffset, s.dst, s.dstOffset, s.size);
      if (counters) counters.copies++;
      continue;
    }
    if (!pass || timestamps === 'each') {
      pass?.end();
      const writes = slot && timestamps ? timestampWrites(slot, steps, i, q, lastDispatch, timestamps) : undefined;
      pass = encoder.beginComputePass({ label: timestamps === 'each' ? s.label : label, ...(writes ? { timestampWrites: writes } : {}) });
      if (counters) counters.passes++;
    }
    pass.setPipeline(s.pipeline);
    pass.setBindGroup(0, s.bindGroup);
    pass.dispatchWorkgroups(...s.workgroups);
    if (counters) counters.dispatches++;
    q++;
  }
  pass?.end();
}

/**
 * Where the compute pass that starts at step `i` (holding dispatch number `q` first) writes its
 * timestamps: its own pair for 'each'; for 'all', the first pass its beginning, the pass with the
 * last dispatch its end, and a pass between them nothing.
 */
function timestampWrites({ querySet, index }: TimestampSlot, steps: readonly Step[], i: number, q: number, lastDispatch: number, timestamps: Timestamps): GPUComputePassTimestampWrites | undefined {
  if (timestamps === 'each') return { querySet, beginningOfPassWriteIndex: index + 2 * q, endOfPassWriteIndex: index + 2 * q + 1 };
  let end = i; // the last step of this compute pass: dispatches up to the next copy
  while (end + 1 < steps.length && 'pipeline' in steps[end + 1]) end++;
  const first = q === 0, last = end >= lastDispatch;
  if (!first && !last) return undefined;
  return { querySet, ...(first ? { beginningOfPassWriteIndex: index } : {}), ...(last ? { endOfPassWriteIndex: index + 1 } : {}) };
}

/**
 * Encode `steps` into one command buffer and submit it, inside error scopes (for setup, tests
 * and the bench: the decode loop encodes its own, see session.ts). With `timestamps`, returns GPU
 * milliseconds: one per dispatch ('each') or one for the whole list ('all').
 */
export async function submit(device: GPUDevice, steps: readonly Step[], { label = 'steps', timestamps, counters }: { label?: string; timestamps?: Timestamps; counters?: Counters } = {}): Promise<number[] | null> {
  const passes = steps.filter((s): s is Pass => 'pipeline' in s).length;
  const timed = timestamps && passes ? (timestamps === 'each' ? passes : 1) : 0;
  if (timed && !device.features.has('timestamp-query')) throw new GpuError(`${label}: timestamps need the device's 'timestamp-query' feature`);
  const timing = await validated(device, label, () => {
    const querySet = timed ? device.createQuerySet({ label: `${label} timestamps`, type: 'timestamp', count: 2 * timed }) : null;
    const encoder = device.createCommandEncoder({ label });
    encode(encoder, steps, { label, timestamps: querySet ? timestamps : undefined, slot: querySet ? { querySet, index: 0 } : undefined, counters });
    if (!querySet) {
      device.queue.submit([encoder.finish()]);
      return null;
    }
    const resolved = createResolve(device, `${label} timestamps`, 16 * timed);
    const readback = createReadback(device, `${label} timestamps`, 16 * timed);
    encoder.resolveQuerySet(querySet, 0, 2 * timed, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, readback, 0, 16 * timed);
    device.queue.submit([encoder.finish()]);
    return { querySet, resolved, readback };
  }, counters);
  if (!timing) return null;
  try {
    return durations(new BigUint64Array(await mapRead(timing.readback, 16 * timed, counters)), timed);
  } finally {
    timing.querySet.destroy();
    timing.resolved.destroy();
    timing.readback.destroy();
  }
}

/** Milliseconds between each pair of resolved timestamps (begin, end), `n` pairs. */
export function durations(t: BigUint64Array, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Number(t[2 * i + 1] - t[2 * i]) / 1e6);
}

/**
 * The first `byteLength` bytes of a readback buffer that the GPU work already submitted copies
 * into: the one place the engine maps memory. Only those bytes are mapped, and the buffer is
 * unmapped again before this returns.
 */
export async function mapRead(buffer: GPUBuffer, byteLength: number, counters?: Counters): Promise<ArrayBuffer> {
  const bytes = Math.min(buffer.size, padded(byteLength, 8));
  if (counters) counters.maps++;
  await buffer.mapAsync(MAP_READ, 0, bytes);
  try {
    return buffer.getMappedRange(0, bytes).slice(0, byteLength);
  } finally {
    buffer.unmap();
  }
}

/** Copy `byteLength` bytes of `buffer` (all of it by default) back to the CPU, in a submission of its own. */
export async function readBuffer(device: GPUDevice, buffer: GPUBuffer, byteLength = buffer.size, offset = 0): Promise<ArrayBuffer> {
  const staging = await validated(device, `read ${buffer.label}`, () => createReadback(device, `${buffer.label} (readback)`, byteLength));
  try {
    await submit(device, [copy(buffer, offset, staging, 0, padded(byteLength))], { label: `read ${buffer.label}` });
    return await mapRead(staging, byteLength);
  } finally {
    staging.destroy();
  }
}

/** `n` floats of `buffer` (from byte `offset`) as a Float32Array. */
export async function readF32(device: GPUDevice, buffer: GPUBuffer, n: number, offset = 0): Promise<Float32Array> {
  return new Float32Array(await readBuffer(device, buffer, 4 * n, offset));
}

// What planned GPU work keeps between calls, so that a steady-state decode step creates no GPU
// objects (each session has one; the kernels' own serves tests and the bench): scratch buffers
// by name, small constant buffers by content, and for every planned dispatch its params uniform
// and bind group. A dispatch is found again by its pipeline (a bind group made for one 'auto'
// layout fits no other, not even another variant of the same shader), the regions it binds and how many
// times the same pair came before in this call; its params are rewritten with queue.writeBuffer
// only when they changed (in steady decode they do not: what moves with the position is in the
// session's step uniform). Creating a bind group or a buffer per dispatch costs more than a small
// decode step's kernels on a real GPU, which is why this exists. `created` counts what was made,
// so a caller can tell a warm call (nothing new, nothing to validate) from a cold one.
import { bindBuffers, createEmpty, createStorage, createUniform, regionOf, write, type Binding, type Counters, type Pass } from './gpu.ts';

/** Constants (interventions' small tables) kept before the cache starts over. */
const MAX_CONSTANTS = 256;

interface Planned { uniform: GPUBuffer; params: Uint32Array<ArrayBuffer>; bindGroup: GPUBindGroup }

export class PassCache {
  /** GPU objects created through this cache so far (buffers, uniforms, bind groups). */
  created = 0;
  private ids = new WeakMap<GPUBuffer | GPUComputePipeline, number>();
  private nextId = 1;
  private planned = new Map<string, Planned>();
  private occurrences = new Map<string, number>();
  private scratch = new Map<string, GPUBuffer>();
  private constants = new Map<string, GPUBuffer>();
  /** Replaced buffers, destroyed at the next call: this call's recorded passes may still bind them. */
  private retired: GPUBuffer[] = [];

  constructor(readonly device: GPUDevice, readonly counters?: Counters) {}

  /** Start a forward call: dispatch occurrences count from zero again. */
  beginCall(): void {
    this.occurrences.clear();
    for (const b of this.retired) b.destroy();
    this.retired = [];
  }

  private id(b: GPUBuffer | GPUComputePipeline): number {
    let i = this.ids.get(b);
    if (i === undefined) { i = this.nextId++; this.ids.set(b, i); }
    return i;
  }

  /** A dispatch of `pipeline` over `bindings` with these params, reusing its uniform and bind group. */
  pass(kernel: string, pipeline: GPUComputePipeline, label: string, params: readonly number[], bindings: readonly Binding[], workgroups: Pass['workgroups'], step?: GPUBuffer): Pass {
    const base = `${kernel}/${this.id(pipeline)}:${bindings.map((b) => { const r = regionOf(b); return `${this.id(r.buffer)}@${r.offset}+${r.size}`; }).join(',')}${step ? `|${this.id(step)}` : ''}`;
    const n = this.occurrences.get(base) ?? 0;
    this.occurrences.set(base, n + 1);
    const key = `${base}#${n}`;
    let p = this.planned.get(key);
    if (!p || p.params.length !== params.length) {
      const uniform = createUniform(this.device, `${label} params`, params);
      p = { uniform, params: Uint32Array.from(params), bindGroup: bindBuffers(this.device, label, pipeline, [uniform, ...(step ? [step] : []), ...bindings]) };
      this.planned.set(key, p);
      this.created += 2;
    } else if (params.some((v, i) => p!.params[i] !== v)) {
      p.params.set(params);
      write(this.device, p.uniform, 0, p.params, this.counters);
    }
    return { label, pipeline, bindGroup: p.bindGroup, workgroups };
  }

  /**
   * A storage buffer named `label` of at least `bytes`, the same one call after call. Growing it
   * forgets every planned dispatch, since their bind groups name the old buffer.
   */
  buffer(label: string, bytes: number, { regions = false } = {}): GPUBuffer {
    const old = this.scratch.get(label);
    if (old && old.size >= bytes) return old;
    if (old) { this.retired.push(old); this.forgetPasses(); }
    // At least doubling, so a buffer that grows with the context is rebuilt O(log n) times.
    const { maxBufferSize, maxStorageBufferBindingSize } = this.device.limits;
    const cap = regions ? maxBufferSize : Math.min(maxBufferSize, maxStorageBufferBindingSize);
    const b = createEmpty(this.device, label, Math.max(bytes, Math.min(2 * (old?.size ?? 0), cap)), { regions });
    this.scratch.set(label, b);
    this.created++;
    return b;
  }

  /** Any buffer made elsewhere (the staging ring, the step uniform) that this cache should count and destroy. */
  own<B extends GPUBuffer>(label: string, make: () => B): B {
    const old = this.scratch.get(label);
    if (old) return old as B;
    const b = make();
    this.scratch.set(label, b);
    this.created++;
    return b;
  }

  /** Destroy `b` at the next call (this call's work may still use it). */
  retire(b: GPUBuffer): void {
    this.retired.push(b);
  }

  /** Forget and destroy (at the next call) a buffer made with `own` or `buffer`. */
  drop(label: string): void {
    const old = this.scratch.get(label);
    if (!old) return;
    this.scratch.delete(label);
    this.retired.push(old);
    this.forgetPasses();
  }

  /** A read-only-by-convention storage buffer holding `data`, shared by every call that asks for the same. */
  constant(label: string, data: Float32Array | Uint32Array): GPUBuffer {
    const key = `${label}:${data instanceof Float32Array ? 'f' : 'u'}:${Array.from(new Uint32Array(data.buffer, data.byteOffset, data.length)).join(',')}`;
    let b = this.constants.get(key);
    if (!b) {
      if (this.constants.size >= MAX_CONSTANTS) {
        this.retired.push(...this.constants.values());
        this.constants.clear();
        this.forgetPasses();
      }
      b = createStorage(this.device, label, data);
      this.constants.set(key, b);
      this.created++;
    }
    return b;
  }

  /** Drop every planned dispatch (their buffers changed). */
  forgetPasses(): void {
    for (const p of this.planned.values()) this.retired.push(p.uniform);
    this.planned.clear();
  }

  dispose(): void {
    this.forgetPasses();
    for (const b of [...this.retired, ...this.scratch.values(), ...this.constants.values()]) b.destroy();
    this.retired = [];
    this.scratch.clear();
    this.constants.clear();
  }
}

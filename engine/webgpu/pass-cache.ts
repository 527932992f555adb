// What planned GPU work keeps between calls, so that a steady-state decode step creates no GPU
// objects (each session has one; the kernels' own serves tests and the bench): scratch buffers
// by name, small constant buffers by content, one readback buffer, and for every planned
// dispatch its params uniform and bind group. A dispatch is found again by its
// kernel, the buffers it binds and how many times the same pair came before in this call; its
// params (the sequence position, the cache length) are rewritten with queue.writeBuffer only when
// they changed. Creating a bind group or a buffer per dispatch costs more than a small decode
// step's kernels on a real GPU, which is why this exists.
import { bindBuffers, createEmpty, createReadback, createStorage, createUniform, type Pass } from './gpu.ts';

/** Constants (interventions' small tables) kept before the cache starts over. */
const MAX_CONSTANTS = 256;

interface Planned { uniform: GPUBuffer; params: Uint32Array<ArrayBuffer>; bindGroup: GPUBindGroup }

export class PassCache {
  private ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  private planned = new Map<string, Planned>();
  private occurrences = new Map<string, number>();
  private scratch = new Map<string, GPUBuffer>();
  private constants = new Map<string, GPUBuffer>();
  private staging: GPUBuffer | null = null;
  /** Replaced buffers, destroyed at the next call: this call's recorded passes may still bind them. */
  private retired: GPUBuffer[] = [];

  constructor(readonly device: GPUDevice) {}

  /** Start a forward call: dispatch occurrences count from zero again. */
  beginCall(): void {
    this.occurrences.clear();
    for (const b of this.retired) b.destroy();
    this.retired = [];
  }

  private id(b: GPUBuffer): number {
    let i = this.ids.get(b);
    if (i === undefined) { i = this.nextId++; this.ids.set(b, i); }
    return i;
  }

  /** A dispatch of `pipeline` over `buffers` with these params, reusing its uniform and bind group. */
  pass(kernel: string, pipeline: GPUComputePipeline, label: string, params: readonly number[], buffers: readonly GPUBuffer[], workgroups: Pass['workgroups']): Pass {
    const base = `${kernel}:${buffers.map((b) => this.id(b)).join(',')}`;
    const n = this.occurrences.get(base) ?? 0;
    this.occurrences.set(base, n + 1);
    const key = `${base}#${n}`;
    let p = this.planned.get(key);
    if (!p || p.params.length !== params.length) {
      const uniform = createUniform(this.device, `${label} params`, params);
      p = { uniform, params: Uint32Array.from(params), bindGroup: bindBuffers(this.device, label, pipeline, [uniform, ...buffers]) };
      this.planned.set(key, p);
    } else if (params.some((v, i) => p!.params[i] !== v)) {
      p.params.set(params);
      this.device.queue.writeBuffer(p.uniform, 0, p.params);
    }
    return { label, pipeline, bindGroup: p.bindGroup, workgroups };
  }

  /**
   * A storage buffer named `label` of at least `bytes`, the same one call after call. Growing it
   * forgets every planned dispatch, since their bind groups name the old buffer.
   */
  buffer(label: string, bytes: number): GPUBuffer {
    const old = this.scratch.get(label);
    if (old && old.size >= bytes) return old;
    if (old) { this.retired.push(old); this.forgetPasses(); }
    const b = createEmpty(this.device, label, Math.max(bytes, 2 * (old?.size ?? 0)));
    this.scratch.set(label, b);
    return b;
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
    }
    return b;
  }

  /** The readback buffer, unmapped, of at least `bytes`. */
  readback(bytes: number): GPUBuffer {
    if (this.staging && this.staging.size >= bytes) return this.staging;
    if (this.staging) this.retired.push(this.staging);
    this.staging = createReadback(this.device, 'forward readback', Math.max(16, bytes));
    return this.staging;
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
    this.staging?.destroy();
    this.staging = null;
  }
}

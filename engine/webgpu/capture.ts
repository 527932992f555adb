// Hooks on the GPU, written in place. Before a call is planned, every tensor a hook observes is
// given a slot in one capture buffer, laid out from the hook table's shapes: the call's result
// record first (the token and the candidates), the logits when they are read, then the observed
// tensors in forward order, then the attention patterns. The forward (forward.ts) makes the
// kernels write those tensors there directly, so observing a hook costs the kernel's writes to
// it and nothing else: no copy, no pass break. One copy of the buffer's used bytes to a staging
// buffer brings everything back with one map.
// Tensors with several names share a slot: the residual stream leaving layer l is the one
// entering layer l + 1 (hook_resid_post and the next hook_resid_pre), the embedding is the first
// layer's input. When a later name of such a tensor is replaced, an earlier observed name gets a
// slot of its own, filled by a copy at its hook point, so it keeps the value it had there.
// A function hook splits the call where it runs: the work planned so far is submitted, the value
// read, the functions run (hooks/request.ts: HookRun, as on the CPU), what they return written
// back, and the hook point's `rerun` steps recompute what a fused kernel derived from it: a sync,
// which is its cost. No hook, no slot, no read.
// Data that replaces a hook's value without the host (an activation patch: `Replacement`) plugs
// in the same way: its steps write into the hook point's region, and the point's `rerun` follows,
// so a replaced input of a fused kernel is seen by everything after it, as on the CPU.
import type { MixtralConfig } from '../config.ts';
import { RequestError } from '../errors.ts';
import { hookNames, hookShape, hookSpec } from '../hooks/names.ts';
import { HookRun, resolveHookNames, type ExpertChoice, type HookRequest, type HookTensor, type HookValue } from '../hooks/request.ts';
import { copy, readBuffer, write, type Counters, type Region, type Step } from './gpu.ts';
import { residualNames, type ForwardStep, type HookPoint, type Placement } from './forward.ts';

/**
 * Values written over hooks on the GPU at their hook points, without a sync: `names` are the
 * hooks it replaces in this call (known before layout, so an observed earlier name of the same
 * tensor keeps its own value), `steps` the GPU work that writes over the hook's region.
 */
export interface Replacement { names: ReadonlySet<string>; steps(hook: string, tensor: Region): Step[] }

/** One call's dimensions: T tokens attending to S positions from pos0, a KV cache of `capacity`; `allRows`: every row's logits are wanted. */
export interface CaptureCall { T: number; S: number; pos0: number; capacity: number; allRows: boolean }

/** A tensor in the capture buffer: bytes [offset, offset + bytes). */
interface Place { offset: number; bytes: number }

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const isChoice = (name: string) => hookSpec(name)?.template === 'blocks.{l}.moe.hook_expert_choice';

export class HookCapture {
  /** Bytes the capture buffer must hold: the pattern area sized for `capacity` positions. */
  readonly bytes: number;
  /** Bytes this call fills and reads back: up to the end of its patterns. */
  readonly readBytes: number;
  /** The result record (token, candidates) at the start of the buffer. */
  readonly result: Place;
  /** The logits (rows, V) when they are read back or observed. */
  readonly logits: Place | null;
  /** Rows of logits the head computes: all T when they are all wanted (or hooked), else the last. */
  readonly rows: number;
  private readonly run: HookRun;
  /** Hooks with function hooks: read and written back where they run. */
  private readonly synced: Set<string>;
  private readonly observed: Set<string>;
  /** Where each observed name's value is read, and whether a copy at its hook point puts it there. */
  private readonly slots = new Map<string, Place & { copied: boolean }>();
  /** The capture slot of each tensor written in place, by its first hook name. */
  private readonly tensors = new Map<string, Place>();
  /** The patterns' area, and each layer's block in it. */
  private readonly patterns: { offset: number; layers: Map<number, number> };
  private readonly align: number;

  private readonly replacement: Replacement | null;
  /** Hooks whose value is replaced in this call: by a function hook, or by a Replacement. */
  private readonly replaced: Set<string>;

  constructor(private readonly device: GPUDevice, private readonly config: MixtralConfig, request: HookRequest, private readonly call: CaptureCall, o: { resultBytes: number; readLogits: boolean; replacement?: Replacement }) {
    const c = config, { T, S } = call;
    this.run = new HookRun(c, request, call.pos0);
    const rows = this.rows = call.allRows || this.run.wants('hook_logits') || this.run.wants('ln_final.hook_normalized') ? T : 1;
    this.synced = resolveHookNames(c, Object.keys(request.fns ?? {}));
    this.observed = resolveHookNames(c, request.observe ?? []);
    this.replacement = o.replacement ?? null;
    this.replaced = new Set([...this.synced, ...(this.replacement?.names ?? [])]);
    for (const name of this.synced) {
      if (hookSpec(name)?.template === 'blocks.{l}.moe.hook_expert_out') {
        throw new RequestError(`function hooks on "${name}" are not supported by the WebGPU engine; use the CPU engine or hook_mlp_out`);
      }
    }
    this.align = device.limits.minStorageBufferOffsetAlignment;
    let at = 0;
    const take = (bytes: number): Place => {
      const p = { offset: at, bytes };
      at = Math.ceil((at + Math.max(bytes, 4)) / this.align) * this.align;
      return p;
    };
    this.result = take(o.resultBytes);
    const V = c.vocab_size;
    this.logits = o.readLogits || this.observed.has('hook_logits') ? take(4 * rows * V) : null;
    if (this.observed.has('hook_logits') && !this.synced.has('hook_logits')) this.slots.set('hook_logits', { ...this.logits!, copied: false });

    // The tensors, in forward order; a tensor with several names is one group.
    for (const group of tensorGroups(c)) {
      const sizes = group.map((n) => 4 * count(hookShape(n, c, T, S)) * (isChoice(n) ? 2 : 1));
      // q, k and v lie one after the other (and the normed q and k); any other group is one tensor under several names.
      const stacked = group[0].endsWith('attn.hook_q') || group[0].endsWith('attn.hook_q_normed');
      const observed = group.filter((n) => this.observed.has(n) && !this.synced.has(n));
      // An observed name before a replaced one keeps its own value: a slot of its own, by copy.
      const lastReplaced = stacked ? -1 : group.findLastIndex((n) => this.replaced.has(n));
      const copied = observed.filter((n) => group.indexOf(n) < lastReplaced);
      const inPlace = observed.filter((n) => !copied.includes(n));
      if (inPlace.length) {
        const place = take(stacked ? sizes.reduce((a, b) => a + b, 0) : sizes[0]);
        this.tensors.set(group[0], place);
        let sub = 0;
        group.forEach((n, i) => {
          if (inPlace.includes(n)) this.slots.set(n, { offset: place.offset + (stacked ? sub : 0), bytes: sizes[i], copied: false });
          sub += sizes[i];
        });
      }
      for (const n of copied) this.slots.set(n, { ...take(sizes[group.indexOf(n)]), copied: true });
    }
    if (rows === T && this.observed.has('ln_final.hook_normalized') && !this.synced.has('ln_final.hook_normalized')) {
      const place = take(4 * T * c.hidden_size);
      this.tensors.set('ln_final.hook_normalized', place);
      this.slots.set('ln_final.hook_normalized', { ...place, copied: false });
    }
    // The patterns last: their size moves with S, so the bytes read stop where this call's end.
    const H = c.num_attention_heads;
    const layers = new Map<number, number>();
    for (let l = 0; l < c.num_hidden_layers; l++) if (this.run.wants(`blocks.${l}.attn.hook_pattern`)) layers.set(l, layers.size);
    this.patterns = { offset: at, layers };
    for (const [l, slot] of layers) {
      const name = `blocks.${l}.attn.hook_pattern`;
      if (this.observed.has(name) && !this.synced.has(name)) this.slots.set(name, { offset: at + 4 * slot * H * T * S, bytes: 4 * H * T * S, copied: false });
    }
    this.bytes = at + 4 * layers.size * H * T * call.capacity;
    this.readBytes = at + 4 * layers.size * H * T * S;
  }

  /** Whether the forward must compute this hook's value at all. */
  wants(name: string): boolean {
    return this.run.wants(name);
  }

  /** Whether any function hook runs (the call then waits on the host between its parts). */
  get syncs(): boolean {
    return this.synced.size > 0;
  }

  /** Where the forward puts the tensors, with the capture buffer `buffer`. */
  placement(buffer: GPUBuffer): Placement {
    const region = (p: Place): Region => ({ buffer, offset: p.offset, size: p.bytes });
    const H = this.config.num_attention_heads, { T, capacity } = this.call;
    return {
      tensor: (names) => { const p = this.tensors.get(names[0]); return p ? region(p) : null; },
      pattern: (l) => {
        const slot = this.patterns.layers.get(l);
        if (slot === undefined) return null;
        return { area: { buffer, offset: this.patterns.offset, size: Math.max(4, 4 * this.patterns.layers.size * H * T * capacity) }, slot };
      },
    };
  }

  /** A region of the capture buffer at `place`. */
  region(buffer: GPUBuffer, place: Place): Region {
    return { buffer, offset: place.offset, size: place.bytes };
  }

  /**
   * Append the GPU work of `plan` to `steps`, and at each hook point what its hooks need: the
   * Replacement's steps; a sync where a function hook runs (`flush` submits the steps so far);
   * the point's rerun when either replaced the value; a copy into the slot of an observed value
   * that a later replacement would overwrite.
   */
  async walk(plan: readonly ForwardStep[], steps: Step[], flush: () => Promise<void>, capture: GPUBuffer, counters?: Counters): Promise<void> {
    for (const p of plan) {
      if (!('hook' in p)) { steps.push(p); continue; }
      let changed = false;
      if (this.replacement?.names.has(p.hook)) {
        const written = this.replacement.steps(p.hook, p.tensor);
        steps.push(...written);
        changed = written.length > 0;
      }
      if (this.synced.has(p.hook)) {
        await flush();
        if (await this.callFunctions(p, counters)) changed = true;
      }
      if (changed && p.rerun) steps.push(...p.rerun);
      const slot = this.slots.get(p.hook);
      if (slot?.copied) steps.push(copy(p.tensor.buffer, p.tensor.offset, capture, slot.offset, slot.bytes));
    }
  }

  /** Read the hook's value, pass it through its functions and write back what they return; true when it changed. */
  private async callFunctions(p: HookPoint, counters?: Counters): Promise<boolean> {
    const shape = hookShape(p.hook, this.config, this.call.T, this.call.S);
    const n = count(shape);
    const bytes = await readBuffer(this.device, p.tensor.buffer, 4 * n * (isChoice(p.hook) ? 2 : 1), p.tensor.offset);
    if (!isChoice(p.hook)) {
      const value: HookTensor = { shape, data: new Float32Array(bytes) };
      const out = this.run.apply(p.hook, value, p.layer);
      if (out === value) return false;
      write(this.device, p.tensor.buffer, p.tensor.offset, out.data as Float32Array<ArrayBuffer>, counters);
      return true;
    }
    const value: ExpertChoice = { shape, indices: new Int32Array(bytes, 0, n), weights: new Float32Array(bytes, 4 * n, n) };
    const out = this.run.apply(p.hook, value, p.layer);
    if (out === value) return false;
    for (const e of out.indices) {
      if (!Number.isInteger(e) || e < 0 || e >= this.config.num_local_experts) throw new RequestError(`function hook on "${p.hook}" returned expert ${e}, out of range`);
    }
    write(this.device, p.tensor.buffer, p.tensor.offset, Uint32Array.from(out.indices), counters);
    write(this.device, p.tensor.buffer, p.tensor.offset + 4 * n, Float32Array.from(out.weights), counters);
    return true;
  }

  /** Every hook's value: those in `bytes` (the capture buffer's first readBytes) and those read where their functions ran. */
  values(bytes: ArrayBuffer): Map<string, HookValue> {
    const out = new Map<string, HookValue>(this.run.cache);
    const seen = new Set<number>();
    const { T, S } = this.call;
    for (const [name, { offset, bytes: size }] of this.slots) {
      const shape = hookShape(name, this.config, T, S), n = count(shape);
      // Two names of one tensor get their own arrays, so that changing one leaves the other.
      const shared = seen.has(offset);
      seen.add(offset);
      const src = shared ? bytes.slice(offset, offset + size) : bytes, at = shared ? 0 : offset;
      out.set(name, isChoice(name)
        ? { shape, indices: new Int32Array(src, at, n), weights: new Float32Array(src, at + 4 * n, n) }
        : { shape, data: new Float32Array(src, at, n) });
    }
    return out;
  }
}

/**
 * The tensors of the forward, each as the hook names it carries, in forward order; a layer's
 * groups are those of the hooks it has (hooks/names.ts: q/k norms, sparse or dense, shared expert).
 */
function tensorGroups(c: MixtralConfig): string[][] {
  const L = c.num_hidden_layers;
  const groups: string[][] = [residualNames(0, L)];
  const has = new Set(hookNames(c));
  for (let l = 0; l < L; l++) {
    const n = (leaf: string) => `blocks.${l}.${leaf}`;
    const layer: string[][] = [
      [n('attn.hook_q_normed'), n('attn.hook_k_normed')], [n('attn.hook_q'), n('attn.hook_k'), n('attn.hook_v')], [n('attn.hook_z')], [n('hook_attn_out')], [n('hook_resid_mid')],
      [n('moe.hook_router_logits')], [n('moe.hook_router_probs')], [n('moe.hook_expert_choice')], [n('moe.hook_expert_out')],
      [n('moe.hook_shared_out')], [n('moe.hook_shared_gate')], [n('hook_mlp_out')],
    ];
    groups.push(...layer.filter((g) => has.has(g[0])), residualNames(l + 1, L));
  }
  return groups;
}

/** Every hook name is in exactly one group, or is the pattern, the final norm or the logits (a check for tests). */
export function groupedHookNames(c: MixtralConfig): string[] {
  return [...tensorGroups(c).flat(), ...hookNames(c).filter((n) => n.endsWith('hook_pattern')), 'ln_final.hook_normalized', 'hook_logits'];
}

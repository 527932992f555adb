// Hooks on the GPU. An observed hook is a copy, at its hook point, into the call's readback
// buffer, at a place laid out before the call from the hook table's shapes; it comes back with
// the result in one map. A function hook splits the call where it runs: the work planned so far
// is submitted, the value read, the functions run (hooks/request.ts: HookRun, as on the CPU) and
// what they return written back: a sync, which is its cost. No hook, no copy and no readback.
// An activation patch (hooks/interventions.ts: patch_activation) is a copy too, the other way:
// the call's patches are written into one scratch buffer when the call begins, and at a patched
// hook point its D values are copied into the hook's buffer, at its token's row, before anything
// else there reads the value (function hooks, observation, the rest of the forward). Copies bind
// nothing, so patches never touch a planned dispatch. Any backend plan that marks its hook points
// (a HookPoint with the buffer holding the value at that moment) gets patching for free.
import type { MixtralConfig } from '../config.ts';
import type { Intervention, PatchActivation } from '../hooks/interventions.ts';
import { RequestError } from '../errors.ts';
import { hookShape, hookSpec } from '../hooks/names.ts';
import { HookRun, resolveHookNames, type ExpertChoice, type HookRequest, type HookTensor, type HookValue } from '../hooks/request.ts';
import { copy, readBuffer, type Step } from './gpu.ts';
import type { ForwardStep, HookPoint } from './forward.ts';

/** Where an observed hook lies in the readback buffer; an expert choice is its indices, then its weights. */
interface Slot { shape: number[]; offset: number; elements: number; choice: boolean }

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The hooks of one call of T tokens attending to S positions. */
export class HookCapture {
  /** The byte just past the last observed hook in the readback buffer. */
  readonly end: number;
  private readonly run: HookRun;
  /** Hooks with function hooks: read and written back where they run. */
  private readonly synced: Set<string>;
  /** Observed hooks without function hooks, copied into the readback buffer. */
  private readonly slots = new Map<string, Slot>();
  /** Activation patches of rows in this call, by full hook name, each with its values' byte offset in `patchValues`. */
  private readonly patches = new Map<string, { iv: PatchActivation; offset: number }[]>();
  /** This call's patch values, one row of D floats per patch (null: no patch). */
  private readonly patchValues: GPUBuffer | null = null;

  /**
   * Observed hooks are laid out from byte `from` of the readback buffer on. `scratch` gives a
   * storage buffer of at least `bytes` that this call may overwrite (the session's scratch).
   */
  constructor(
    private readonly device: GPUDevice, private readonly config: MixtralConfig, request: HookRequest, private readonly call: { T: number; S: number; pos0: number }, from: number,
    interventions: readonly Intervention[] = [], scratch: (label: string, bytes: number) => GPUBuffer = () => { throw new Error('no scratch buffer for patches'); },
  ) {
    this.run = new HookRun(config, request, call.pos0);
    const mine = interventions.filter((iv): iv is PatchActivation => iv.kind === 'patch_activation' && iv.position >= call.pos0 && iv.position < call.pos0 + call.T);
    if (mine.length) {
      const D = config.hidden_size, values = new Float32Array(mine.length * D);
      mine.forEach((iv, i) => {
        values.set(iv.values, i * D);
        const name = `blocks.${iv.layer}.${iv.hook}`;
        this.patches.set(name, [...(this.patches.get(name) ?? []), { iv, offset: 4 * i * D }]);
      });
      // Written on the queue before this call submits anything, after every earlier call's work.
      this.patchValues = scratch('patch values', values.byteLength);
      device.queue.writeBuffer(this.patchValues, 0, values);
    }
    this.synced = resolveHookNames(config, Object.keys(request.fns ?? {}));
    for (const name of this.synced) {
      if (hookSpec(name)?.template === 'blocks.{l}.moe.hook_expert_out') {
        throw new RequestError(`function hooks on "${name}" are not supported by the WebGPU engine; use the CPU engine or hook_mlp_out`);
      }
    }
    let at = from;
    for (const name of resolveHookNames(config, request.observe ?? [])) {
      if (this.synced.has(name)) continue; // HookRun keeps what the functions returned
      const shape = hookShape(name, config, call.T, call.S);
      const choice = hookSpec(name)?.template === 'blocks.{l}.moe.hook_expert_choice';
      this.slots.set(name, { shape, offset: at, elements: count(shape), choice });
      at += 4 * count(shape) * (choice ? 2 : 1);
    }
    this.end = at;
  }

  /** Whether the forward must compute this hook's value at all (observed, a function hook, or patched). */
  wants(name: string): boolean {
    return this.run.wants(name) || this.patches.has(name);
  }

  /**
   * Append the GPU work of `plan` to `steps`, and at each hook point its hooks: a copy into
   * `readback` where it is observed; a sync where a function hook runs (`flush` submits the
   * steps so far).
   */
  async walk(plan: readonly ForwardStep[], steps: Step[], flush: () => Promise<void>, readback: GPUBuffer): Promise<void> {
    for (const p of plan) {
      if (!('hook' in p)) { steps.push(p); continue; }
      if ('tensor' in p) steps.push(...this.patchCopies(p.hook, p.tensor));
      if (this.synced.has(p.hook)) {
        await flush();
        await this.callFunctions(p);
        if ('tensor' in p && p.rerun) steps.push(...p.rerun);
      }
      const slot = this.slots.get(p.hook);
      if (!slot) continue;
      const bytes = 4 * slot.elements;
      if ('tensor' in p) steps.push(copy(p.tensor, 0, readback, slot.offset, bytes));
      else steps.push(copy(p.indices, 0, readback, slot.offset, bytes), copy(p.weights, 0, readback, slot.offset + bytes, bytes));
    }
  }

  /** Copies that put each patch of hook `name` into its row of `tensor` (T, D), in the order given. */
  private patchCopies(name: string, tensor: GPUBuffer): Step[] {
    const D = this.config.hidden_size;
    return (this.patches.get(name) ?? []).map(({ iv, offset }) => copy(this.patchValues!, offset, tensor, 4 * (iv.position - this.call.pos0) * D, 4 * D));
  }

  /** Read the hook's value, pass it through its functions and write back what they return. */
  private async callFunctions(p: HookPoint): Promise<void> {
    const shape = hookShape(p.hook, this.config, this.call.T, this.call.S);
    const n = count(shape);
    const read = async (b: GPUBuffer) => readBuffer(this.device, b, 4 * n);
    if ('tensor' in p) {
      const value: HookTensor = { shape, data: new Float32Array(await read(p.tensor)) };
      const out = this.run.apply(p.hook, value, p.layer);
      if (out !== value) this.device.queue.writeBuffer(p.tensor, 0, out.data as Float32Array<ArrayBuffer>);
      return;
    }
    const value: ExpertChoice = { shape, indices: new Int32Array(await read(p.indices)), weights: new Float32Array(await read(p.weights)) };
    const out = this.run.apply(p.hook, value, p.layer);
    for (const e of out.indices) {
      if (!Number.isInteger(e) || e < 0 || e >= this.config.num_local_experts) throw new RequestError(`function hook on "${p.hook}" returned expert ${e}, out of range`);
    }
    this.device.queue.writeBuffer(p.indices, 0, Uint32Array.from(out.indices));
    this.device.queue.writeBuffer(p.weights, 0, Float32Array.from(out.weights));
  }

  /** Every hook's value: those copied into `bytes` (the readback buffer's contents) and those read where their functions ran. */
  values(bytes: ArrayBuffer): Map<string, HookValue> {
    const out = new Map<string, HookValue>(this.run.cache);
    for (const [name, { shape, offset, elements, choice }] of this.slots) {
      out.set(name, choice
        ? { shape, indices: new Int32Array(bytes, offset, elements), weights: new Float32Array(bytes, offset + 4 * elements, elements) }
        : { shape, data: new Float32Array(bytes, offset, elements) });
    }
    return out;
  }
}

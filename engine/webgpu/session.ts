// A sequence on the GPU: its KV cache and what its calls keep between them (pass-cache.ts:
// scratch buffers, params and bind groups), so that a steady decode step creates no GPU objects.
// A call checks the request, plans the whole forward (forward.ts), walks it through the hooks
// (capture.ts), submits it and maps the result and the observed hooks back at once.
import { RequestError } from '../errors.ts';
import { normaliseHookRequest, type EngineSession, type ForwardRequest, type ForwardResult } from '../engine.ts';
import { validateInterventions } from '../hooks/interventions.ts';
import { checkIds } from '../cpu/engine.ts';
import { argmax } from '../sampling.ts';
import { copy, createEmpty, mapRead, scoped, submit, type Pass, type Step } from './gpu.ts';
import { withCache } from './kernels.ts';
import { PassCache } from './pass-cache.ts';
import { planForward, scratchFor } from './forward.ts';
import { HookCapture } from './capture.ts';
import type { WebGpuEngine } from './engine.ts';

export class GpuSession implements EngineSession {
  private length = 0;
  /** Positions the KV cache holds room for. */
  private capacity = 0;
  private kcache: GPUBuffer[] = []; // (capacity, Hkv, Dh) per layer
  private vcache: GPUBuffer[] = [];
  private readonly cache: PassCache;
  private disposed = false;

  /** `release` tells the engine this session is gone. */
  constructor(private readonly engine: WebGpuEngine, private readonly release: (s: GpuSession) => void) {
    this.cache = new PassCache(engine.device);
  }

  get position(): number {
    return this.length;
  }

  truncate(length: number): void {
    this.length = Math.min(this.length, Math.max(0, length));
  }

  /** A failed call leaves the session as it was; a lost device fails with DeviceLostError. */
  async forward(ids: readonly number[], request: ForwardRequest = {}): Promise<ForwardResult> {
    if (this.disposed) throw new RequestError('this session was disposed: create a new one');
    return this.engine.guard(async () => {
      try {
        return await this.run(ids, request);
      } catch (e) {
        if (this.disposed) throw new RequestError('this session was disposed during the call');
        throw e;
      }
    });
  }

  /** Release the KV cache and everything the calls kept. Safe to call more than once. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cache.dispose();
    for (const b of [...this.kcache, ...this.vcache]) b.destroy();
    this.kcache = []; this.vcache = []; this.capacity = 0; this.length = 0;
    this.release(this);
  }

  [Symbol.dispose](): void { this.dispose(); }
  async [Symbol.asyncDispose](): Promise<void> { this.dispose(); }

  private async run(ids: readonly number[], request: ForwardRequest): Promise<ForwardResult> {
    const { device, config: c } = this.engine;
    checkIds(c, ids, this.length);
    const interventions = request.interventions ?? [];
    validateInterventions(c, interventions);
    const output = request.output ?? 'last';
    const T = ids.length, pos0 = this.length, S = pos0 + T, V = c.vocab_size;
    // The readback buffer: the result first (the logits asked for, or the token), then the hooks.
    const resultBytes = output === 'argmax' ? 4 : 4 * (output === 'all' ? T : 1) * V;
    const hooks = new HookCapture(device, c, normaliseHookRequest(request.hooks), { T, S, pos0 }, resultBytes, interventions, (label, bytes) => this.cache.buffer(label, bytes));
    // Every row goes through lm_head when every row's logits, or a hook on them, are wanted.
    const rows = output === 'all' || hooks.wants('hook_logits') || hooks.wants('ln_final.hook_normalized') ? T : 1;
    await this.reserve(S);
    this.cache.beginCall();
    if (this.engine.profile) this.engine.lastKernelTimes = {};

    // Planning's errors are checked with the result, not waited for before the work is submitted.
    const planned = scoped(device, 'plan forward', () => {
      const call = { k: withCache(this.engine.kernels, this.cache), c, s: scratchFor(this.cache, c, T, rows, this.capacity), T, pos0, S };
      device.queue.writeBuffer(call.s.ids, 0, Uint32Array.from(ids));
      const readback = this.cache.readback(hooks.end);
      const plan = planForward(call, this.engine.weights, { k: this.kcache, v: this.vcache }, interventions, { rows, output, readback });
      return { plan, readback };
    });
    const { plan, readback } = planned.result;
    let bytes: ArrayBuffer;
    try {
      const steps: Step[] = [];
      await hooks.walk(plan, steps, () => this.submit(steps.splice(0)), readback);
      await this.submit(steps);
      bytes = await mapRead(readback, hooks.end);
    } catch (e) {
      throw (await planned.error) ?? e; // a mistake in planning explains what failed after it
    }
    const planError = await planned.error;
    if (planError) throw planError;
    this.length = S;

    const logits = output === 'argmax' ? new Float32Array(0) : new Float32Array(bytes, 0, resultBytes / 4);
    return {
      logits,
      logitsShape: output === 'argmax' ? [0] : output === 'all' ? [T, V] : [V],
      token: output === 'argmax' ? new Uint32Array(bytes, 0, 1)[0] : argmax(logits.subarray(logits.length - V)),
      hooks: hooks.values(bytes),
      position: pos0,
    };
  }

  /** Submit steps as one command buffer; with the engine's `profile`, add up each kernel's GPU time. */
  private async submit(steps: readonly Step[]): Promise<void> {
    if (steps.length === 0) return;
    const e = this.engine;
    const times = await submit(e.device, steps, { label: 'mixtral forward', timestamps: e.profile ? 'each' : undefined });
    if (!times || !e.lastKernelTimes) return;
    const kernelTimes = e.lastKernelTimes;
    steps.filter((s): s is Pass => 'pipeline' in s).forEach((p, i) => {
      const kernel = p.label.split(' ')[0];
      kernelTimes[kernel] = (kernelTimes[kernel] ?? 0) + times[i];
    });
  }

  /** Grow the KV cache to hold `need` positions (at least doubling), keeping what it holds. */
  private async reserve(need: number): Promise<void> {
    if (need <= this.capacity) return;
    const { device, config: c } = this.engine;
    const row = 4 * c.num_key_value_heads * c.head_dim;
    const capacity = Math.min(c.max_position_embeddings, Math.max(need, 2 * this.capacity, 64));
    const grown = (name: string) => Array.from({ length: c.num_hidden_layers }, (_, l) => createEmpty(device, `${name} cache layer ${l}`, capacity * row));
    const k = grown('k'), v = grown('v');
    const kept = this.length * row;
    if (kept > 0) await submit(device, [...this.kcache.map((b, l) => copy(b, 0, k[l], 0, kept)), ...this.vcache.map((b, l) => copy(b, 0, v[l], 0, kept))], { label: 'grow kv cache' });
    for (const b of [...this.kcache, ...this.vcache]) b.destroy();
    this.kcache = k; this.vcache = v; this.capacity = capacity;
    this.cache.forgetPasses(); // their bind groups name the old cache
  }
}

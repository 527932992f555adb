// A sequence on the GPU: its KV cache and what its calls keep between them (pass-cache.ts:
// scratch buffers, params and bind groups; the capture buffer; a ring of staging buffers), so
// that a steady decode step creates no GPU objects and waits on nothing but its own result.
// A call, in order:
// 1. Check the request; grow the KV cache if needed (a copy in the call's own command buffer).
// 2. Lay out the capture buffer (capture.ts) and plan the whole forward into it (forward.ts).
// 3. Write the step uniform (pos0, S, splits, the draw) and the token ids: one or two writes; a
//    call fed with forwardPicked writes no ids, the previous call's sampler left them on the GPU.
// 4. Encode the plan into one command buffer (one compute pass when no function hook splits it),
//    with one copy of the capture buffer's used bytes to the next staging buffer of the ring
//    (and one of the timestamps, when timed); submit. The next call may be planned and submitted
//    from here on: calls are submitted in the order they were made.
// 5. Map the staging buffer's used bytes (one map) and read the token, candidates, logits and
//    hooks from it. Error scopes are pushed only around a call that plans something new (a
//    "cold" call); a steady one relies on the device's uncaptured-error event, so nothing waits.
import { RequestError } from '../errors.ts';
import { normaliseHookRequest, type EngineSession, type ForwardRequest, type ForwardResult } from '../engine.ts';
import { validateInterventions } from '../hooks/interventions.ts';
import { checkIds } from '../cpu/engine.ts';
import { checkSamplingOptions } from '../sampling.ts';
import {
  copy, createEmpty, createReadback, createResolve, createUniform, durations, encode, GpuError, mapRead, padded, scoped, write,
  type Step, type Timestamps,
} from './gpu.ts';
import { MAX_CANDIDATES, attentionSplits, kvWords, sampleWords, stepWords, withCache } from './kernels.ts';
import { PassCache } from './pass-cache.ts';
import { planForward, scratchFor, type Call } from './forward.ts';
import { HookCapture } from './capture.ts';
import { patchReplacement } from './patches.ts';
import type { WebGpuEngine } from './engine.ts';

/** Staging buffers in the ring: a call maps one while the next ones are submitted. */
const RING = 3;

/** What one call of a WebGPU session returns: the common result, and what the device did. */
export interface GpuForwardResult extends ForwardResult {
  /** GPU milliseconds of the call's work, from timestamp queries (engines created with `timestamps`). */
  gpuMs?: number;
  /** Milliseconds the host spent on the call: planning, encoding and submitting it, reading its result (with function hooks, their syncs too). */
  hostMs: number;
}

export class GpuSession implements EngineSession {
  private length = 0;
  /** Positions the KV cache holds room for. */
  private capacity = 0;
  private kv: GPUBuffer[] = []; // (2, capacity, Hkv, Dh) per layer: keys, then values
  private readonly cache: PassCache;
  private disposed = false;
  /** Resolved once the last call made has submitted its work: calls submit in the order made. */
  private submitted: Promise<void> = Promise.resolve();
  /** The last call submitted left a picked token in the ids buffer. */
  private picked = false;
  /** Bumped when a call fails after later calls were submitted: they are then refused. */
  private epoch = 0;
  /**
   * The plans (by key) already checked inside error scopes. A call whose shapes, hooks and outputs
   * were checked once creates nothing new to check, so it skips the scopes: a generation that
   * alternates between requests (the site's hooks, a notebook's) stays warm. Bounded; cleared when
   * a call fails.
   */
  private readonly checkedPlans = new Set<string>();
  private calls = 0;
  private readonly ring: { buffer: GPUBuffer | null; busy: Promise<unknown> }[] = Array.from({ length: RING }, () => ({ buffer: null, busy: Promise.resolve() }));
  private timing: { querySet: GPUQuerySet; resolve: GPUBuffer; count: number } | null = null;

  /** `release` tells the engine this session is gone. */
  constructor(private readonly engine: WebGpuEngine, private readonly release: (s: GpuSession) => void) {
    this.cache = new PassCache(engine.device, engine.counters);
  }

  get position(): number {
    return this.length;
  }

  truncate(length: number): void {
    this.length = Math.min(this.length, Math.max(0, length));
  }

  /** A failed call leaves the session as it was; a lost device fails with DeviceLostError. */
  forward(ids: readonly number[], request: ForwardRequest = {}): Promise<GpuForwardResult> {
    return this.enqueue(ids, request);
  }

  /**
   * Feed the token the last call picked on the GPU (its argmax or draw, left in the ids buffer),
   * submitted without waiting for that call's result: see EngineSession.forwardPicked.
   */
  forwardPicked(request: ForwardRequest = {}): Promise<GpuForwardResult> {
    return this.enqueue(null, request);
  }

  /** Release the KV cache and everything the calls kept. Safe to call more than once. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cache.dispose();
    for (const b of this.kv) b.destroy();
    for (const r of this.ring) r.buffer?.destroy();
    this.timing?.querySet.destroy();
    this.timing?.resolve.destroy();
    this.timing = null;
    this.kv = []; this.capacity = 0; this.length = 0;
    this.release(this);
  }

  [Symbol.dispose](): void { this.dispose(); }
  async [Symbol.asyncDispose](): Promise<void> { this.dispose(); }

  private enqueue(ids: readonly number[] | null, request: ForwardRequest): Promise<GpuForwardResult> {
    if (this.disposed) return Promise.reject(new RequestError('this session was disposed: create a new one'));
    const before = this.submitted;
    let submitted!: () => void;
    this.submitted = new Promise((resolve) => { submitted = resolve; });
    return this.engine.guard(async () => {
      let finish: () => Promise<GpuForwardResult>;
      try {
        await before;
        if (this.disposed) throw new RequestError('this session was disposed: create a new one');
        finish = await this.submitCall(ids, request);
      } finally {
        submitted();
      }
      try {
        return await finish();
      } catch (e) {
        if (this.disposed) throw new RequestError('this session was disposed during the call');
        throw e;
      }
    });
  }

  /** Steps 1-4: plan and submit; returns step 5, reading the result back. */
  private async submitCall(ids: readonly number[] | null, request: ForwardRequest): Promise<() => Promise<GpuForwardResult>> {
    const started = performance.now();
    const e = this.engine, { device, config: c, counters } = e;
    if (ids) checkIds(c, ids, this.length);
    else {
      if (!this.picked) throw new RequestError('forwardPicked: the last call of this session picked no token (none ran, or it failed)');
      checkIds(c, [0], this.length);
    }
    const interventions = request.interventions ?? [];
    validateInterventions(c, interventions);
    if (request.sample) checkSamplingOptions(request.sample);
    const nCand = request.candidates ?? 0;
    if (!Number.isInteger(nCand) || nCand < 0 || nCand > MAX_CANDIDATES) throw new RequestError(`candidates must be an integer from 0 to ${MAX_CANDIDATES} on the WebGPU engine, got ${nCand}`);
    const output = request.output ?? 'last';
    const hookRequest = normaliseHookRequest(request.hooks);
    const T = ids ? ids.length : 1, pos0 = this.length, S = pos0 + T, V = c.vocab_size;

    // 1. the KV cache, grown in this call's command buffer
    this.cache.beginCall(); // destroys what the previous call retired: its work is submitted
    const grow = this.reserve(S);
    // 2. the layout and the plan
    const readLogits = output === 'last' || output === 'all';
    // Activation patches: their values written now, copied over the hooks at their points.
    const replacement = patchReplacement(device, c, interventions, { T, pos0 }, (label, bytes) => this.cache.buffer(label, bytes), counters) ?? undefined;
    const capture = new HookCapture(device, c, hookRequest, { T, S, pos0, capacity: this.capacity, allRows: output === 'all' }, { resultBytes: 4 * sampleWords(nCand), readLogits, replacement });
    const rows = capture.rows;
    const splits = attentionSplits(T, S, c.sliding_window);
    const timed: Timestamps | undefined = e.profile ? 'each' : e.timestamps ? 'all' : undefined;
    const sampled = request.sample ? { ...request.sample, draw: 0 } : null; // the draw is in the step uniform
    const key = JSON.stringify([T, rows, this.capacity, splits, output, nCand, sampled, request.hooks ?? null, interventions, timed ?? null]);
    const cold = !this.checkedPlans.has(key) || grow.length > 0 || capture.syncs;
    if (this.checkedPlans.size >= 64) this.checkedPlans.clear();
    this.checkedPlans.add(key);
    const epoch = this.epoch;
    const uncaught = e.uncapturedErrors;

    const build = () => {
      const buffer = this.captureBuffer(capture.bytes, T);
      const s = scratchFor(this.cache, c, T, rows, splits);
      const step = this.cache.own('step', () => createUniform(device, 'step', [0, 0, 0, 0]));
      // 3. what changes from call to call: the step uniform and (unless the GPU left them) the ids
      write(device, step, 0, stepWords({ pos0, S, splits, draw: request.sample?.draw ?? 0 }), counters);
      if (ids) write(device, s.ids, 0, Uint32Array.from(ids), counters);
      const call: Call = { k: withCache(e.kernels, this.cache), c, s, T, pos0, S, capacity: this.capacity, splits, step, place: capture.placement(buffer) };
      const head = {
        rows, logits: capture.logits && capture.region(buffer, capture.logits), result: capture.region(buffer, capture.result),
        sampling: request.sample ?? null, candidates: nCand,
      };
      return { buffer, plan: planForward(call, e.weights, this.kv, interventions, head) };
    };
    // A cold call plans inside error scopes, checked with its result; a warm one creates nothing to check.
    const planned = cold ? scoped(device, 'plan forward', build, counters) : { result: build(), error: Promise.resolve(null) };
    const { buffer, plan } = planned.result;

    const steps: Step[] = [...grow];
    const flush = async () => { this.submit(steps.splice(0)); };
    await capture.walk(plan, steps, flush, buffer, counters);
    // 4. one command buffer: the plan, the copy of what is read back, the timestamps
    const dispatches = steps.filter((s) => 'pipeline' in s).length;
    const timeBytes = timed ? 16 * (timed === 'each' ? dispatches : 1) : 0;
    const at = padded(capture.readBytes, 256);
    const slot = this.ring[this.calls++ % RING];
    await slot.busy; // free unless more than RING calls are in flight
    const staging = this.staging(slot, at + timeBytes);
    const submitAll = () => this.submit(steps, { timed, staging: { buffer: staging, from: buffer, bytes: capture.readBytes, timesAt: at, timeBytes } });
    const submission = cold ? scoped(device, 'forward', submitAll, counters) : (submitAll(), { error: Promise.resolve(null) });
    this.length = S;
    this.picked = true;
    const labels = steps.flatMap((s) => ('pipeline' in s ? [s.kernel ?? s.label.split(' ')[0]] : []));

    // 5. the result, when it comes
    const result = mapRead(staging, at + timeBytes, counters);
    slot.busy = result.catch(() => undefined);
    const submitMs = performance.now() - started;
    return async () => {
      let bytes: ArrayBuffer;
      try {
        bytes = await result;
        const caught = (await planned.error) ?? (await submission.error);
        if (caught) throw caught;
        if (e.uncapturedErrors !== uncaught) throw new GpuError(`forward: WebGPU error: ${e.lastUncapturedError}`);
        if (this.epoch !== epoch) throw new RequestError('an earlier call of this session failed, so this one (submitted before that was known) was discarded');
      } catch (err) {
        if (this.epoch === epoch) { this.epoch++; this.length = Math.min(this.length, pos0); this.picked = false; this.checkedPlans.clear(); }
        throw err;
      }
      const read = performance.now();
      const words = new Uint32Array(bytes, capture.result.offset, sampleWords(nCand));
      const n = words[1], mass = words[2] + words[3] * 2 ** 32;
      const candidates = nCand ? {
        ids: Array.from(words.subarray(4, 4 + n)),
        probs: Array.from(words.subarray(4 + n, 4 + 2 * n), (w) => w / mass),
      } : undefined;
      let logits = new Float32Array(0);
      if (readLogits) logits = new Float32Array(bytes, capture.logits!.offset + (output === 'all' ? 0 : 4 * (rows - 1) * V), (output === 'all' ? T : 1) * V);
      const out: GpuForwardResult = {
        logits, logitsShape: output === 'all' ? [T, V] : readLogits ? [V] : [0], token: words[0], hooks: capture.values(bytes), position: pos0,
        ...(candidates ? { candidates } : {}), hostMs: 0,
      };
      if (timed) {
        const t = durations(new BigUint64Array(bytes, at, timeBytes / 8), timeBytes / 16);
        if (timed === 'all') out.gpuMs = t[0];
        else {
          const kernelTimes: Record<string, number> = {};
          labels.forEach((label, i) => { kernelTimes[label] = (kernelTimes[label] ?? 0) + t[i]; });
          e.lastKernelTimes = kernelTimes;
          out.gpuMs = t.reduce((a, b) => a + b, 0);
        }
      }
      out.hostMs = submitMs + performance.now() - read;
      return out;
    };
  }

  /**
   * Encode `steps` into one command buffer and submit it. With `staging`, the command buffer ends
   * with the copy of the capture buffer's used bytes (and the timestamps) to the staging buffer.
   */
  private submit(steps: readonly Step[], o: { timed?: Timestamps; staging?: { buffer: GPUBuffer; from: GPUBuffer; bytes: number; timesAt: number; timeBytes: number } } = {}): void {
    const { device, counters } = this.engine;
    const encoder = device.createCommandEncoder({ label: 'mixtral forward' });
    const queries = o.timed && o.staging ? o.staging.timeBytes / 8 : 0;
    const timing = queries ? this.queries(queries) : null;
    encode(encoder, steps, { label: 'mixtral forward', timestamps: timing ? o.timed : undefined, slot: timing ? { querySet: timing.querySet, index: 0 } : undefined, counters });
    if (o.staging) {
      const st = o.staging;
      encoder.copyBufferToBuffer(st.from, 0, st.buffer, 0, padded(st.bytes));
      counters.copies++;
      if (timing) {
        encoder.resolveQuerySet(timing.querySet, 0, queries, timing.resolve, 0);
        encoder.copyBufferToBuffer(timing.resolve, 0, st.buffer, st.timesAt, st.timeBytes);
        counters.copies++;
      }
    }
    device.queue.submit([encoder.finish()]);
  }

  /** The capture buffer, of at least `bytes`; a clear error when the hooks asked for exceed the device's largest buffer. */
  private captureBuffer(bytes: number, T: number): GPUBuffer {
    const max = this.engine.device.limits.maxBufferSize;
    if (bytes > max) throw new RequestError(`observing these hooks for ${T} tokens needs ${bytes} bytes, more than this device's largest buffer (${max}): observe fewer hooks, or feed fewer tokens per call`);
    return this.cache.buffer('capture', bytes, { regions: true });
  }

  /**
   * `slot`'s staging buffer, of at least `bytes`. The ring grows as one: every slot gets a new
   * buffer (an old one in use is destroyed once its map is done), so a steady step finds its
   * slot large enough whichever slot it is.
   */
  private staging(slot: { buffer: GPUBuffer | null }, bytes: number): GPUBuffer {
    if (!slot.buffer || slot.buffer.size < bytes) {
      const size = Math.max(bytes, 2 * (slot.buffer?.size ?? 0));
      for (const r of this.ring) {
        const old = r.buffer;
        if (old) void r.busy.then(() => old.destroy());
        r.buffer = createReadback(this.engine.device, 'staging', size);
        this.cache.created++;
      }
    }
    return slot.buffer!;
  }

  /** The session's timestamp queries, at least `count` of them. */
  private queries(count: number): { querySet: GPUQuerySet; resolve: GPUBuffer } {
    if (!this.timing || this.timing.count < count) {
      this.timing?.querySet.destroy();
      this.timing?.resolve.destroy();
      const device = this.engine.device;
      this.timing = { querySet: device.createQuerySet({ label: 'forward timestamps', type: 'timestamp', count }), resolve: createResolve(device, 'forward timestamps', 8 * count), count };
      this.cache.created++;
    }
    return this.timing;
  }

  /**
   * Room in the KV cache for `need` positions (at least doubling): new buffers, and the copies
   * that keep what the old ones hold, run at the start of this call's command buffer.
   */
  private reserve(need: number): Step[] {
    if (need <= this.capacity) return [];
    const { device, config: c, kernels } = this.engine;
    const capacity = Math.min(c.max_position_embeddings, Math.max(need, 2 * this.capacity, 64));
    const Hkv = c.num_key_value_heads, Dh = c.head_dim;
    const half = (cap: number) => 4 * kvWords(kernels, cap, Hkv, Dh); // bytes of keys (or values)
    const kept = 4 * kvWords(kernels, this.length, Hkv, Dh);
    const grown = Array.from({ length: c.num_hidden_layers }, (_, l) => createEmpty(device, `kv cache layer ${l}`, 2 * half(capacity)));
    const steps: Step[] = kept > 0 ? this.kv.flatMap((old, l) => [copy(old, 0, grown[l], 0, kept), copy(old, half(this.capacity), grown[l], half(capacity), kept)]) : [];
    for (const old of this.kv) this.cache.retire(old);
    this.kv = grown;
    this.capacity = capacity;
    this.cache.created += grown.length;
    this.cache.forgetPasses(); // their bind groups name the old cache
    return steps;
  }
}

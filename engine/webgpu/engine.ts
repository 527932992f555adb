// The WebGPU engine: the same Mixtral forward as engine/cpu/forward.ts, as WGSL kernels, behind
// the common Engine interface. One command buffer per call; hook points that were asked for are
// copied into one staging buffer and read back once at the end; a JavaScript function hook
// splits the call there (submit, read, call, write back), which costs a sync. A session keeps its
// scratch buffers, params and bind groups (pass-cache.ts), so a steady decode step creates no GPU
// objects; prefill runs the experts on tokens grouped by expert; weights larger than one binding
// are stored in parts (split.ts).
//
// Legend: T tokens in this call, S = cache + T positions, D hidden, Dh head_dim, H query heads,
// Hkv key/value heads, E experts, K experts per token, F expert width, V vocab.
import type { MixtralConfig } from '../config.ts';
import type { MixtralWeights } from '../weights.ts';
import { RequestError } from '../errors.ts';
import { normaliseHookRequest, type Engine, type EngineSession, type ForwardOutput, type ForwardRequest, type ForwardResult } from '../engine.ts';
import { argmax } from '../sampling.ts';
import { resolveHookNames, type HookFn, type HookValue } from '../hooks/request.ts';
import { interventionsForLayer, validateInterventions, type Intervention } from '../hooks/interventions.ts';
import { checkIds } from '../cpu/engine.ts';
import { GpuError, createEmpty, createReadback, createStorage, releasePasses, validated, type Pass } from './gpu.ts';
import { packF16 } from './f16.ts';
import {
  createKernels, planAdd, planArgmax, planAttention, planEmbed, planExperts, planExpertsGrouped, planMatmul, planMatmulParts,
  planRmsnorm, planRope, planRouter, routerRules, withCache, type Kernels,
} from './kernels.ts';
import { PassCache } from './pass-cache.ts';
import { bindingLimit, splitRows, type Part } from './split.ts';

type Dtype = 'f16' | 'f32';

interface GpuLayer {
  inNorm: GPUBuffer; postNorm: GPUBuffer;
  q: GPUBuffer; k: GPUBuffer; v: GPUBuffer; o: GPUBuffer;
  gate: GPUBuffer;                  // (E, D) f32
  w1: Part[]; w3: Part[];           // (E, F, D) the layer's experts, in parts of whole experts
  w2: Part[];                       // (E, D, F)
}

/** embed and lmHead (V, D) in parts of whole vocabulary rows, each under the binding limit. */
interface GpuWeights { embed: Part[]; layers: GpuLayer[]; norm: GPUBuffer; lmHead: Part[] }

const MAP_READ = 0x0001; // GPUMapMode.READ (a global only once Dawn is loaded, in Node)

function uploadWeights(device: GPUDevice, w: MixtralWeights, dtype: Dtype, limit: number): GpuWeights {
  const bytes = dtype === 'f16' ? 2 : 4;
  const pack = (a: Float32Array) => (dtype === 'f16' ? packF16(a) : a);
  const whole = (label: string, a: Float32Array, elementBytes = bytes) => {
    if (a.length * elementBytes > limit) {
      throw new GpuError(`${label}: ${a.length * elementBytes} bytes exceeds this device's ${limit}-byte limit per buffer (maxStorageBufferBindingSize/maxBufferSize); this model cannot run on this adapter`);
    }
    return createStorage(device, label, elementBytes === 4 ? a : pack(a));
  };
  // A (rows, cols) tensor given as its rows' concatenation, split into parts under the limit.
  const parts = (label: string, rows: Float32Array[], rowFloats: number): Part[] =>
    splitRows(label, rows.length, rowFloats * bytes, limit).map(({ row0, rows: n }) => {
      const data = new Float32Array(n * rowFloats);
      for (let r = 0; r < n; r++) data.set(rows[row0 + r], r * rowFloats);
      return { buffer: createStorage(device, n === rows.length ? label : `${label} rows ${row0}..${row0 + n - 1}`, pack(data)), row0, rows: n };
    });
  const vocabRows = (a: Float32Array, D: number) => Array.from({ length: a.length / D }, (_, v) => a.subarray(v * D, (v + 1) * D));
  const D = w.norm.length;
  return {
    embed: parts('embed_tokens', vocabRows(w.embed_tokens, D), D),
    norm: whole('norm', w.norm, 4),
    lmHead: parts('lm_head', vocabRows(w.lm_head, D), D),
    layers: w.layers.map((l, i) => ({
      inNorm: whole(`layer ${i} input_layernorm`, l.input_layernorm, 4),
      postNorm: whole(`layer ${i} post_attention_layernorm`, l.post_attention_layernorm, 4),
      q: whole(`layer ${i} q_proj`, l.q_proj), k: whole(`layer ${i} k_proj`, l.k_proj),
      v: whole(`layer ${i} v_proj`, l.v_proj), o: whole(`layer ${i} o_proj`, l.o_proj),
      gate: whole(`layer ${i} gate`, l.gate, 4),
      w1: parts(`layer ${i} w1`, l.experts.map((e) => e.w1), l.experts[0].w1.length),
      w3: parts(`layer ${i} w3`, l.experts.map((e) => e.w3), l.experts[0].w3.length),
      w2: parts(`layer ${i} w2`, l.experts.map((e) => e.w2), l.experts[0].w2.length),
    })),
  };
}

const buffersOf = (w: GpuWeights): GPUBuffer[] => [
  ...w.embed.map((p) => p.buffer), w.norm, ...w.lmHead.map((p) => p.buffer),
  ...w.layers.flatMap((l) => [l.inNorm, l.postNorm, l.q, l.k, l.v, l.o, l.gate, ...[...l.w1, ...l.w3, ...l.w2].map((p) => p.buffer)]),
];

/** Work for one submission: compute passes and buffer copies, in order. */
type Step = { pass: Pass } | { copy: { src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number } };

/** A hook value to read from the staging buffer after the call. */
interface Capture { name: string; shape: number[]; offset: number; bytes: number; kind: 'f32' | 'choice'; weightsOffset?: number }

export interface WebGpuEngineOptions {
  /** Storage of the big matrices: 'f16' (packed halves, exact for F16 checkpoints) or 'f32'. */
  weights?: Dtype;
  /** Time every kernel with timestamp queries (needs the device's 'timestamp-query' feature). */
  profile?: boolean;
  /**
   * Bytes one weight buffer may hold, below the device's own limits: tensors larger than this are
   * split into parts. For tests of the splitting on small models; the device's limits always apply.
   */
  maxBindingBytes?: number;
  /**
   * Use the subgroup kernels where the device has the `subgroups` feature (default true); false
   * runs the workgroup-reduction kernels every adapter has (tests of that path).
   */
  subgroups?: boolean;
}

/** GPU time per kernel (milliseconds, summed over its dispatches) of the last profiled call. */
export type KernelTimes = Record<string, number>;

export class WebGpuEngine implements Engine {
  readonly backend = 'webgpu' as const;
  private lostReason: string | null = null;
  /** Kernel times of the last call, when created with `profile: true`. */
  lastKernelTimes: KernelTimes | null = null;
  readonly profile: boolean;

  private constructor(
    readonly device: GPUDevice, readonly config: MixtralConfig, readonly kernels: Kernels,
    readonly weights: GpuWeights, readonly weightDtype: Dtype, readonly description: string, profile: boolean,
  ) {
    this.profile = profile && device.features.has('timestamp-query');
    device.lost.then((info) => { this.lostReason = `${info.reason}: ${info.message}`; });
  }

  static async create(device: GPUDevice, config: MixtralConfig, weights: MixtralWeights, options: WebGpuEngineOptions = {}, description = 'WebGPU'): Promise<WebGpuEngine> {
    const dtype = options.weights ?? 'f32';
    if (config.hidden_size % 2 || config.intermediate_size % 2 || (config.num_attention_heads * config.head_dim) % 2) {
      throw new GpuError('the WebGPU engine reads weights in pairs: hidden_size, intermediate_size and heads*head_dim must be even');
    }
    const kernels = await createKernels(device, { f16Weights: dtype === 'f16', subgroups: options.subgroups ?? true });
    const limit = bindingLimit(device, options.maxBindingBytes);
    const gpuWeights = await validated(device, 'upload weights', () => uploadWeights(device, weights, dtype, limit));
    return new WebGpuEngine(device, config, kernels, gpuWeights, dtype, description, options.profile ?? false);
  }

  /** Throws a clear error once the device is gone: the caller can create a new engine or use the CPU one. */
  checkAlive(): void {
    if (this.lostReason !== null) {
      throw new GpuError(`the WebGPU device was lost (${this.lostReason}); create the engine again, or fall back to the CPU engine`);
    }
  }

  /** Sessions not yet disposed, released with the engine. */
  readonly sessions = new Set<GpuSession>();

  createSession(): GpuSession {
    const s = new GpuSession(this);
    this.sessions.add(s);
    return s;
  }

  async forward(ids: readonly number[], request?: ForwardRequest): Promise<ForwardResult> {
    const s = this.createSession();
    try { return await s.forward(ids, request); } finally { s.dispose(); }
  }

  dispose(): void {
    for (const s of this.sessions) s.dispose();
    for (const b of buffersOf(this.weights)) b.destroy();
  }

  [Symbol.dispose](): void { this.dispose(); }
}

/**
 * A sequence with its KV cache. It keeps its buffers, params and bind groups between calls (see
 * pass-cache.ts), so a decode step encodes one command buffer without creating GPU objects.
 */
export class GpuSession implements EngineSession {
  private length = 0;
  private capacity = 0;
  private kcache: GPUBuffer[] = [];
  private vcache: GPUBuffer[] = [];
  private readonly cache: PassCache;

  constructor(private readonly engine: WebGpuEngine) {
    this.cache = new PassCache(engine.device);
  }

  /** Release this session's GPU buffers (the engine does it for sessions still open when it is disposed). */
  private disposed = false;

  dispose(): void {
    this.disposed = true;
    this.cache.dispose();
    for (const b of [...this.kcache, ...this.vcache]) b.destroy();
    this.kcache = []; this.vcache = []; this.capacity = 0; this.length = 0;
    this.engine.sessions.delete(this);
  }

  get position(): number {
    return this.length;
  }

  truncate(length: number): void {
    this.length = Math.min(this.length, Math.max(0, length));
  }

  /** Grow the KV cache to hold `need` positions, keeping what it holds. */
  private reserve(need: number): void {
    if (need <= this.capacity) return;
    const { device, config: c } = this.engine;
    const row = 4 * c.num_key_value_heads * c.head_dim;
    const cap = Math.min(c.max_position_embeddings, Math.max(need, 2 * this.capacity, 64));
    const encoder = device.createCommandEncoder({ label: 'grow kv cache' });
    const grow = (old: GPUBuffer[], name: string) => Array.from({ length: c.num_hidden_layers }, (_, l) => {
      const b = createEmpty(device, `${name} cache layer ${l}`, cap * row);
      if (old[l]) { encoder.copyBufferToBuffer(old[l], 0, b, 0, this.length * row || 4); }
      return b;
    });
    const k = grow(this.kcache, 'k'), v = grow(this.vcache, 'v');
    device.queue.submit([encoder.finish()]);
    for (const b of [...this.kcache, ...this.vcache]) b.destroy();
    this.kcache = k; this.vcache = v; this.capacity = cap;
    this.cache.forgetPasses(); // their bind groups name the old cache
  }

  /**
   * Output 'argmax' runs the greedy choice on the GPU: only its token id (4 bytes) and the hooks
   * asked for come back. Ties go to the lower id, as engine/sampling.ts's argmax does.
   */
  async forward(ids: readonly number[], request: ForwardRequest = {}): Promise<ForwardResult> {
    const output = request.output ?? 'last';
    const r = await this.run(ids, request, output);
    const V = this.engine.config.vocab_size;
    const token = output === 'argmax' ? r.token : argmax(r.logits.subarray(r.logits.length - V));
    return { logits: r.logits, logitsShape: r.logitsShape, token, hooks: r.hooks, position: r.position };
  }

  [Symbol.dispose](): void { this.dispose(); }
  async [Symbol.asyncDispose](): Promise<void> { this.dispose(); }

  private async run(ids: readonly number[], request: ForwardRequest, output: Output): Promise<CallResult> {
    const e = this.engine;
    if (this.disposed) throw new RequestError('this session was disposed: create a new one');
    e.checkAlive();
    const c = e.config;
    checkIds(c, ids, this.length);
    const interventions = request.interventions ?? [];
    validateInterventions(c, interventions);
    const hookRequest = normaliseHookRequest(request.hooks);
    const observed = resolveHookNames(c, hookRequest.observe ?? []);
    const fns = new Map<string, HookFn[]>();
    for (const [pattern, fn] of Object.entries(hookRequest.fns ?? {})) {
      for (const name of resolveHookNames(c, [pattern])) fns.set(name, [...(fns.get(name) ?? []), fn]);
    }
    const pos0 = this.length;
    this.reserve(pos0 + ids.length);
    try {
      this.cache.beginCall();
      const run = new GpuCall(e, this.cache, this.kcache, this.vcache, this.capacity, ids, pos0, interventions, observed, fns, output);
      const result = await run.execute();
      this.length = pos0 + ids.length;
      return result;
    } catch (err) {
      e.checkAlive();
      throw err;
    }
  }
}

/** What a call reads back: the last row's logits, all rows', or only the greedy token. */
type Output = ForwardOutput;
type CallResult = ForwardResult;

/** One forward call: builds the steps in model order and runs them. */
class GpuCall {
  private steps: Step[] = [];
  private owned: GPUBuffer[] = [];
  private passes: Pass[] = [];
  private captures: Capture[] = [];
  private stagingBytes = 0;
  private readonly k: Kernels;
  private readonly device: GPUDevice;
  private readonly allLogits: boolean;

  constructor(
    private readonly e: WebGpuEngine, private readonly cache: PassCache, private readonly kcache: GPUBuffer[], private readonly vcache: GPUBuffer[],
    private readonly capacity: number, private readonly ids: readonly number[], private readonly pos0: number, private readonly interventions: readonly Intervention[],
    private readonly observed: Set<string>, private readonly fns: Map<string, HookFn[]>, private readonly output: Output,
  ) {
    this.k = withCache(e.kernels, cache);
    this.device = e.device;
    this.allLogits = output === 'all';
  }

  /** Scratch named `label`: the session's buffer of that name, kept from call to call. */
  private buf(label: string, floats: number): GPUBuffer {
    return this.cache.buffer(label, 4 * Math.max(1, floats));
  }

  /** A small constant table (an intervention's), shared by the calls that use the same one. */
  private data(label: string, a: Float32Array | Uint32Array): GPUBuffer {
    return this.cache.constant(label, a);
  }

  private add(...passes: Pass[]): void {
    for (const p of passes) { this.steps.push({ pass: p }); this.passes.push(p); }
  }

  private copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.steps.push({ copy: { src, srcOffset, dst, dstOffset, size } });
  }

  /** Submit the steps recorded so far as one command buffer. */
  private async flush(): Promise<void> {
    const steps = this.steps;
    this.steps = [];
    if (steps.length === 0) return;
    const timed = this.e.profile ? steps.filter((s) => 'pass' in s).length : 0;
    const querySet = timed ? this.device.createQuerySet({ type: 'timestamp', count: 2 * timed }) : null;
    // 2 x u64 per pass; 0x0200 | 0x0004 = QUERY_RESOLVE | COPY_SRC
    const resolve = timed ? this.device.createBuffer({ label: 'timestamps', size: 16 * timed, usage: 0x0200 | 0x0004 }) : null;
    if (resolve) this.owned.push(resolve);
    const labels: string[] = [];
    await validated(this.device, 'forward', () => {
      const encoder = this.device.createCommandEncoder({ label: 'mixtral forward' });
      // Dispatches between two copies share one compute pass (WebGPU orders them and makes each
      // one's writes visible to the next); profiling gives each its own pass for its timestamps.
      let pass: GPUComputePassEncoder | null = null;
      for (const s of steps) {
        if ('pass' in s) {
          const q = labels.length;
          if (querySet) labels.push(s.pass.label.split(' ')[0]);
          pass ??= encoder.beginComputePass({
            label: querySet ? s.pass.label : 'mixtral forward',
            ...(querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * q, endOfPassWriteIndex: 2 * q + 1 } } : {}),
          });
          pass.setPipeline(s.pass.pipeline);
          pass.setBindGroup(0, s.pass.bindGroup);
          pass.dispatchWorkgroups(...s.pass.workgroups);
          if (querySet) { pass.end(); pass = null; }
        } else {
          pass?.end();
          pass = null;
          encoder.copyBufferToBuffer(s.copy.src, s.copy.srcOffset, s.copy.dst, s.copy.dstOffset, s.copy.size);
        }
      }
      pass?.end();
      if (querySet && resolve) encoder.resolveQuerySet(querySet, 0, 2 * timed, resolve, 0);
      this.device.queue.submit([encoder.finish()]);
    });
    if (querySet && resolve) {
      const ticks = new BigUint64Array(await this.readNow(resolve, 16 * timed));
      const times = this.e.lastKernelTimes ?? {};
      labels.forEach((label, i) => { times[label] = (times[label] ?? 0) + Number(ticks[2 * i + 1] - ticks[2 * i]) / 1e6; });
      this.e.lastKernelTimes = times;
      querySet.destroy();
    }
  }

  /** Read a buffer with a separate submission (used for profiling only). */
  private async readNow(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const staging = createReadback(this.device, 'timestamps readback', bytes);
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, bytes);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_READ);
    const out = staging.getMappedRange().slice(0);
    staging.destroy();
    return out;
  }

  private async read(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const staging = createReadback(this.device, 'hook readback', bytes);
    this.copy(buffer, 0, staging, 0, bytes);
    await this.flush();
    await staging.mapAsync(MAP_READ);
    const out = staging.getMappedRange().slice(0);
    staging.destroy();
    return out;
  }

  /**
   * A hook point on an f32 tensor held in `buffer`: run function hooks (a sync: read, call, write
   * back what they return), then queue a copy of what flows on when it is observed.
   */
  private async point(name: string, buffer: GPUBuffer, shape: number[], layer: number | null): Promise<void> {
    const n = shape.reduce((a, b) => a * b, 1);
    const fns = this.fns.get(name);
    if (fns) {
      let value: HookValue = { shape, data: new Float32Array(await this.read(buffer, 4 * n)) };
      let replaced = false;
      for (const fn of fns) {
        const r = fn(value, { name, layer, position: this.pos0 });
        if (r !== undefined) {
          if (!('data' in r) || r.shape.join() !== shape.join()) {
            throw new RequestError(`function hook on "${name}" returned shape [${r.shape}] where [${shape}] was expected`);
          }
          value = r; replaced = true;
        }
      }
      if (replaced) this.device.queue.writeBuffer(buffer, 0, (value as { data: Float32Array }).data as Float32Array<ArrayBuffer>);
    }
    if (this.observed.has(name)) {
      this.captures.push({ name, shape, offset: this.stagingBytes, bytes: 4 * n, kind: 'f32' });
      this.stagingBytes += 4 * n;
    }
  }

  /** The expert-choice hook point: indices (u32) and weights (f32), both (T, K). */
  private async choicePoint(name: string, idx: GPUBuffer, weights: GPUBuffer, T: number, K: number, layer: number): Promise<void> {
    const fns = this.fns.get(name);
    if (fns) {
      let value: HookValue = { shape: [T, K], indices: new Int32Array(await this.read(idx, 4 * T * K)), weights: new Float32Array(await this.read(weights, 4 * T * K)) };
      for (const fn of fns) {
        const r = fn(value, { name, layer, position: this.pos0 });
        if (r !== undefined) {
          if (!('indices' in r) || r.shape.join() !== [T, K].join()) throw new RequestError(`function hook on "${name}" must return indices and weights of shape [${T},${K}]`);
          for (const i of r.indices) if (i < 0 || i >= this.e.config.num_local_experts) throw new RequestError(`function hook on "${name}" returned expert ${i}, out of range`);
          value = r;
        }
      }
      const v = value as { indices: Int32Array; weights: Float32Array };
      this.device.queue.writeBuffer(idx, 0, Uint32Array.from(v.indices));
      this.device.queue.writeBuffer(weights, 0, Float32Array.from(v.weights));
    }
    if (this.observed.has(name)) {
      this.captures.push({ name, shape: [T, K], offset: this.stagingBytes, bytes: 4 * T * K, kind: 'choice', weightsOffset: this.stagingBytes + 4 * T * K });
      this.stagingBytes += 8 * T * K;
    }
  }

  /** Observe a hook: run point(), then snapshot the buffer into staging at this moment. */
  private async hook(name: string, buffer: GPUBuffer, shape: number[], layer: number | null): Promise<void> {
    const before = this.captures.length;
    await this.point(name, buffer, shape, layer);
    if (this.captures.length > before) this.snapshot(buffer, this.captures[this.captures.length - 1]);
  }

  private snapshots: { src: GPUBuffer; offset: number; bytes: number; stagingOffset: number }[] = [];

  /** Copy `buffer` now into a holding buffer, so later in-place updates do not change the hook value. */
  private snapshot(buffer: GPUBuffer, capture: Capture, second?: GPUBuffer): void {
    const hold = this.buf(`hold ${capture.name}`, capture.kind === 'choice' ? 2 * capture.bytes / 4 : capture.bytes / 4);
    this.copy(buffer, 0, hold, 0, capture.bytes);
    if (second) this.copy(second, 0, hold, capture.bytes, capture.bytes);
    this.snapshots.push({ src: hold, offset: 0, bytes: capture.kind === 'choice' ? 2 * capture.bytes : capture.bytes, stagingOffset: capture.offset });
  }

  async execute(): Promise<CallResult> {
    const { e, k, ids, pos0 } = this;
    if (e.profile) e.lastKernelTimes = {};
    const c = e.config;
    const T = ids.length, S = pos0 + T, D = c.hidden_size, H = c.num_attention_heads, Hkv = c.num_key_value_heads;
    const Dh = c.head_dim, E = c.num_local_experts, K = c.num_experts_per_tok, F = c.intermediate_size, V = c.vocab_size;
    const w = e.weights, dtype = e.weightDtype;
    const row = Hkv * Dh;
    try {
      // ---- token embeddings: x (T, D)
      const x = this.buf('x', T * D);
      const idBuf = this.buf('ids', T);
      this.device.queue.writeBuffer(idBuf, 0, Uint32Array.from(ids));
      for (const p of w.embed) this.add(planEmbed(k, { ids: idBuf, embed: p.buffer, x, T, D, row0: p.row0, rows: p.rows }));
      await this.hook('hook_embed', x, [T, D], null);

      // scratch reused by every layer
      const xn = this.buf('xn', T * D), q = this.buf('q', T * H * Dh), kk = this.buf('k', T * row), vv = this.buf('v', T * row);
      const att = this.buf('att', H * T * Math.max(S, this.capacity)), z = this.buf('z', T * H * Dh), attnOut = this.buf('attn_out', T * D);
      const routerLogits = this.buf('router_logits', T * E), probs = this.buf('router_probs', T * E);
      const idx = this.buf('idx', T * K), weights = this.buf('weights', T * K), hbuf = this.buf('h', T * K * F);
      const expertOut = this.buf('expert_out', T * K * D), moeOut = this.buf('moe_out', T * D);
      const offsets = this.buf('expert offsets', E + 1), order = this.buf('expert order', T * K);

      for (let l = 0; l < c.num_hidden_layers; l++) {
        const lw = w.layers[l];
        const iv = interventionsForLayer(c, this.interventions, l);
        const name = (leaf: string) => `blocks.${l}.${leaf}`;
        await this.hook(name('hook_resid_pre'), x, [T, D], l);

        // ---- attention: x = x + o_proj(attention(rmsnorm(x)))
        this.add(planRmsnorm(k, { x, w: lw.inNorm, out: xn, T, D, eps: c.rms_norm_eps }));
        this.add(planMatmul(k, { x: xn, w: lw.q, out: q, T, In: D, N: H * Dh, dtype }));
        this.add(planMatmul(k, { x: xn, w: lw.k, out: kk, T, In: D, N: row, dtype }));
        this.add(planMatmul(k, { x: xn, w: lw.v, out: vv, T, In: D, N: row, dtype }));
        this.add(planRope(k, { x: q, T, heads: H, Dh, pos0, theta: c.rope_theta }));
        this.add(planRope(k, { x: kk, T, heads: Hkv, Dh, pos0, theta: c.rope_theta }));
        await this.hook(name('attn.hook_q'), q, [T, H, Dh], l);
        await this.hook(name('attn.hook_k'), kk, [T, Hkv, Dh], l);
        await this.hook(name('attn.hook_v'), vv, [T, Hkv, Dh], l);
        this.copy(kk, 0, this.kcache[l], 4 * pos0 * row, 4 * T * row); // append to the cache
        this.copy(vv, 0, this.vcache[l], 4 * pos0 * row, 4 * T * row);
        const headScale = this.data('head scale', Float32Array.from({ length: H }, (_, h) => (iv.zeroHeads.has(h) ? 0 : 1)));
        this.add(...planAttention(k, { T, S, H, Hkv, Dh, pos0, window: c.sliding_window, q, kcache: this.kcache[l], vcache: this.vcache[l], att, headScale, z }));
        await this.hook(name('attn.hook_pattern'), att, [H, T, S], l);
        await this.hook(name('attn.hook_z'), z, [T, H, Dh], l);
        this.add(planMatmul(k, { x: z, w: lw.o, out: attnOut, T, In: H * Dh, N: D, dtype }));
        await this.hook(name('hook_attn_out'), attnOut, [T, D], l);
        this.add(planAdd(k, { out: x, x: attnOut, n: T * D }));
        await this.hook(name('hook_resid_mid'), x, [T, D], l);

        // ---- sparse MoE: x = x + sum_k weight_k * expert_k(rmsnorm(x)), only chosen experts run
        this.add(planRmsnorm(k, { x, w: lw.postNorm, out: xn, T, D, eps: c.rms_norm_eps }));
        this.add(planMatmul(k, { x: xn, w: lw.gate, out: routerLogits, T, In: D, N: E, dtype: 'f32' }));
        const bias = iv.bias ?? new Float32Array(E);
        const ablated = Uint32Array.from({ length: E }, (_, i) => (iv.ablated.has(i) ? 1 : 0));
        // The router adds the bias in place; a function hook on the logits must see them biased,
        // so the router runs first and writes its logits back before the hook point.
        this.add(planRouter(k, { T, E, K, pos0, bias: this.data('bias', bias), ablated: this.data('ablated', ablated), rules: this.data('rules', routerRules(K, iv.force)), logits: routerLogits, probs, idx, weights }));
        if (this.fns.has(name('moe.hook_router_logits'))) {
          // A replaced logit tensor must re-run the router on it, without adding the bias again.
          await this.point(name('moe.hook_router_logits'), routerLogits, [T, E], l);
          this.add(planRouter(k, { T, E, K, pos0, bias: this.data('no bias', new Float32Array(E)), ablated: this.data('ablated', ablated), rules: this.data('rules', routerRules(K, iv.force)), logits: routerLogits, probs, idx, weights }));
          if (this.observed.has(name('moe.hook_router_logits'))) this.snapshot(routerLogits, this.captures[this.captures.length - 1]);
        } else {
          await this.hook(name('moe.hook_router_logits'), routerLogits, [T, E], l);
        }
        await this.hook(name('moe.hook_router_probs'), probs, [T, E], l);
        const before = this.captures.length;
        await this.choicePoint(name('moe.hook_expert_choice'), idx, weights, T, K, l);
        if (this.captures.length > before) this.snapshot(idx, this.captures[this.captures.length - 1], weights);
        // Decode runs each chosen expert as a matrix-vector product; prefill groups the tokens by
        // expert on the GPU so each expert's weights are read once per tile of its tokens.
        if (T === 1 && lw.w1.length === 1) {
          this.add(...planExperts(k, { T, K, D, F, x: xn, idx, weights, w1: lw.w1[0].buffer, w3: lw.w3[0].buffer, w2: lw.w2[0].buffer, h: hbuf, expertOut, out: moeOut }));
        } else {
          this.add(...planExpertsGrouped(k, { T, K, E, D, F, x: xn, idx, weights, w1: lw.w1, w3: lw.w3, w2: lw.w2, offsets, order, h: hbuf, expertOut, out: moeOut }));
        }
        if (this.fns.has(name('moe.hook_expert_out'))) {
          throw new RequestError(`function hooks on "${name('moe.hook_expert_out')}" are not supported by the WebGPU engine; use the CPU engine or hook_mlp_out`);
        }
        await this.hook(name('moe.hook_expert_out'), expertOut, [T, K, D], l);
        await this.hook(name('hook_mlp_out'), moeOut, [T, D], l);
        this.add(planAdd(k, { out: x, x: moeOut, n: T * D }));
        await this.hook(name('hook_resid_post'), x, [T, D], l);
      }

      // ---- final norm and lm_head, for the last row only unless all rows are wanted
      const rows = this.allLogits || this.observed.has('hook_logits') || this.observed.has('ln_final.hook_normalized') || this.fns.has('hook_logits') || this.fns.has('ln_final.hook_normalized') ? T : 1;
      let src = x;
      if (rows === 1 && T > 1) {
        src = this.buf('last row', D);
        this.copy(x, 4 * (T - 1) * D, src, 0, 4 * D);
      }
      const xf = this.buf('final norm', rows * D);
      this.add(planRmsnorm(k, { x: src, w: w.norm, out: xf, T: rows, D, eps: c.rms_norm_eps }));
      if (rows === T) await this.hook('ln_final.hook_normalized', xf, [T, D], null);
      const logits = this.buf('logits', rows * V);
      this.add(...planMatmulParts(k, { x: xf, parts: w.lmHead, out: logits, T: rows, In: D, N: V, dtype }));
      if (rows === T) await this.hook('hook_logits', logits, [T, V], null);

      // ---- greedy: the argmax of the last row, so that 4 bytes come back instead of V floats
      let result = logits, resultOffset = this.allLogits ? 0 : 4 * (rows - 1) * V;
      if (this.output === 'argmax') {
        let last = logits;
        if (rows > 1) { last = this.buf('last logits', V); this.copy(logits, resultOffset, last, 0, 4 * V); }
        result = this.buf('token', 1);
        resultOffset = 0;
        this.add(planArgmax(k, { x: last, n: V, out: result }));
      }

      // ---- one readback: the logits asked for (or the token), then every observed hook
      const logitBytes = this.output === 'argmax' ? 4 : 4 * (this.allLogits ? T * V : V);
      const total = logitBytes + this.stagingBytes;
      const staging = this.cache.readback(total);
      this.copy(result, resultOffset, staging, 0, logitBytes);
      for (const s of this.snapshots) this.copy(s.src, s.offset, staging, logitBytes + s.stagingOffset, s.bytes);
      await this.flush();
      await staging.mapAsync(MAP_READ, 0, staging.size);
      const bytes = staging.getMappedRange(0, staging.size).slice(0, total);
      staging.unmap();
      const hooks = new Map<string, HookValue>();
      for (const cap of this.captures) {
        const at = logitBytes + cap.offset;
        if (cap.kind === 'f32') hooks.set(cap.name, { shape: cap.shape, data: new Float32Array(bytes, at, cap.bytes / 4) });
        else hooks.set(cap.name, { shape: cap.shape, indices: new Int32Array(bytes, at, cap.bytes / 4), weights: new Float32Array(bytes, at + cap.bytes, cap.bytes / 4) });
      }
      const argmax = this.output === 'argmax';
      return {
        logits: argmax ? new Float32Array(0) : new Float32Array(bytes, 0, logitBytes / 4),
        logitsShape: argmax ? [0] : this.allLogits ? [T, V] : [V],
        token: argmax ? new Uint32Array(bytes, 0, 1)[0] : -1,
        hooks,
        position: pos0,
      };
    } finally {
      for (const b of this.owned) b.destroy();
      releasePasses(this.passes);
    }
  }
}

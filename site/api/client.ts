// The page's side of the engine worker: loads models, streams generations as cumulative states
// coalesced to one per animation frame (and, with `drawn`, to one per drawing of the page), and
// stops at once when asked. A load runs beside the model in use and can be cancelled; one that
// fails leaves the model and its generations be.
import { MixscopeTokenizer } from '../../engine/tokenizer.ts';
import type { RoutingAnalysis } from '../../engine/analysis/analyze-routing.ts';
import type { HookValue } from '../../engine/hooks/request.ts';
import type { AnalyzeRequestOptions, FromWorker, ForwardRequestOptions, GenerateRequestOptions, ModelSource, ToWorker, TraceRequestOptions, WorkerStats } from './protocol.ts';
import type { ExpertsRequestOptions, ExpertsResult, LensRequestOptions, LensResult, PatchOutcome, PatchRequest, WeightChoice } from './protocol.ts';
import type { GenerationState, ModelInfo, Trace } from './types.ts';
import { GenerationAccumulator, buildTrace } from './accumulator.ts';
import type { LoadPlan } from './load-plan.ts';
import type { WeightFormat } from '../../engine/footprint/formats.ts';
import type { QuantRoutingRow } from '../../engine/quant/quant-routing.ts';

/** Progress and cancellation of a long request. */
export interface LongRequest { onProgress?: (done: number, total: number) => void; signal?: AbortSignal }

export interface LoadState {
  /** 'error': the last load failed (`info` still describes the model in use, if any). */
  phase: 'idle' | 'loading' | 'ready' | 'error';
  bytesDone: number;
  bytesTotal: number;
  file: string;
  info: ModelInfo | null;
  error: string | null;
  /** Generations in progress. */
  running: number;
}

export interface ForwardOutput { logits: Float32Array; logitsShape: number[]; hooks: Record<string, HookValue>; position: number }

type Handler = (msg: FromWorker) => void;

/** Errors keep the worker's error name (CheckpointError, RequestError, GpuError...). */
function workerError(name: string, message: string, code?: string): Error {
  const e = new Error(message);
  e.name = name;
  if (code !== undefined) (e as Error & { code?: string }).code = code;
  return e;
}

const cancelled = (why: string) => new DOMException(why, 'AbortError');

/** Resolves at the next animation frame, or after 100 ms where frames do not run (a hidden tab). */
function nextFrame(): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, 100);
    requestAnimationFrame(() => { clearTimeout(t); resolve(); });
  });
}

/** A progress listener for the research requests' 'request-progress' messages. */
const progressOf = (onProgress?: (done: number, total: number) => void) => (m: FromWorker): boolean => {
  if (m.type !== 'request-progress') return false;
  onProgress?.(m.done, m.total);
  return true;
};
export interface ClientOptions {
  /**
   * Resolves when the page has drawn what it was given (the site passes viz's `settled`): a
   * generation hands out its next state only then, so a page that draws slower than the model
   * writes sees fewer states, each with more new tokens, instead of falling behind.
   */
  drawn?: () => Promise<void>;
  /**
   * Milliseconds at least between two states of a generation (default 0: one per frame). The
   * site asks for 100: ten pictures a second are enough to watch a text grow, and the page then
   * leaves most of the machine to the model.
   */
  interval?: number;
}

const delay = (ms: number) => new Promise<void>((resolve) => { if (ms > 0) setTimeout(resolve, ms); else resolve(); });

export class MixscopeClient {
  private readonly worker: Worker;
  private readonly drawn: () => Promise<void>;
  private readonly interval: number;
  private nextId = 1;
  private readonly handlers = new Map<number, Handler>();
  private readonly running = new Map<number, () => void>();
  private readonly listeners = new Set<(s: LoadState) => void>();
  private loadWaiters: { resolve: (i: ModelInfo) => void; reject: (e: Error) => void } | null = null;
  /** The id of the load in progress (0: none); messages of older loads are ignored. */
  private loading = 0;
  state: LoadState = { phase: 'idle', bytesDone: 0, bytesTotal: 0, file: '', info: null, error: null, running: 0 };
  tokenizer: MixscopeTokenizer | null = null;

  constructor(worker: Worker, { drawn = () => Promise.resolve(), interval = 0 }: ClientOptions = {}) {
    this.worker = worker;
    this.drawn = drawn;
    this.interval = interval;
    worker.onmessage = (ev: MessageEvent<FromWorker>) => this.receive(ev.data);
    worker.onerror = (ev) => this.fail(`the engine worker crashed: ${ev.message || 'unknown error'}`);
  }

  onState(fn: (s: LoadState) => void): () => void {
    this.listeners.add(fn);
    fn(this.state);
    return () => this.listeners.delete(fn);
  }

  /**
   * Loads a checkpoint; resolves with its description once an engine is ready. The model in use
   * keeps working meanwhile, and stays if this load fails or is cancelled (its generations are
   * stopped only when the new model takes over). A newer load cancels this one.
   */
  load(source: ModelSource, backend: 'auto' | 'cpu' | 'webgpu' = 'auto', weights?: WeightChoice): Promise<ModelInfo> {
    this.loadWaiters?.reject(cancelled('another model is being loaded'));
    const id = this.nextId++;
    this.loading = id;
    this.setState({ phase: 'loading', bytesDone: 0, bytesTotal: 0, file: '', error: null });
    this.send({ type: 'load', id, source, backend, ...(weights ? { weights } : {}) });
    return new Promise((resolve, reject) => { this.loadWaiters = { resolve, reject }; });
  }

  /** Cancels the load in progress, if any: its fetches and parsing stop; the model in use stays. */
  cancelLoad(): void {
    if (this.loading) this.send({ type: 'cancel-load', id: this.loading });
  }

  get info(): ModelInfo {
    if (!this.state.info) throw new Error('no model is loaded yet');
    return this.state.info;
  }

  /** Generation as cumulative states; a consumer slower than the model sees fewer, later states. */
  async *generate(prompt: string | number[], options: GenerateRequestOptions = {}): AsyncGenerator<GenerationState, void, void> {
    const info = this.info;
    const id = this.nextId++;
    let acc = new GenerationAccumulator(info.config);
    let dirty = false;
    let shownAt = -Infinity;
    let error: Error | null = null;
    let wake: (() => void) | null = null;
    const poke = () => { const w = wake; wake = null; w?.(); };
    this.handlers.set(id, (msg) => {
      if (msg.type === 'step' && !acc.done) { acc.apply(msg.payload); dirty = true; }
      // The GPU was lost mid-generation: the worker starts it again on the CPU from the prompt.
      else if (msg.type === 'restart' && !acc.done) { acc = new GenerationAccumulator(info.config); dirty = true; }
      else if (msg.type === 'error') error = workerError(msg.name, msg.message);
      poke();
    });
    // A stop also cuts short the wait for the page's drawing: the stopped state shows at once.
    let interrupt: (() => void) | null = null;
    this.running.set(id, () => { acc.stop(); dirty = true; poke(); interrupt?.(); });
    this.setState({ running: this.running.size });
    this.send({ type: 'generate', id, prompt, options });
    try {
      for (;;) {
        if (!dirty && !error) await new Promise<void>((r) => { wake = r; });
        if (error) throw error;
        if (!acc.done) {
          const paced = Promise.all([this.drawn(), delay(this.interval - (performance.now() - shownAt))]);
          await Promise.race([paced, new Promise<void>((r) => { interrupt = r; })]);
          interrupt = null;
          if (!acc.done) await nextFrame();
        }
        dirty = false;
        const s = acc.snapshot();
        shownAt = performance.now();
        yield s;
        if (s.done) return;
      }
    } finally {
      // Also reached when a cell re-runs and the runtime returns the old generator.
      if (!acc.done) this.send({ type: 'stop', id });
      this.handlers.delete(id);
      this.running.delete(id);
      this.setState({ running: this.running.size });
    }
  }

  /**
   * Stops every running generation (the worker stops before its next token), every long request
   * (analyze, experts, patch: before their next forward; each rejects with an AbortError), and the
   * model load in progress, if any.
   */
  stop(): void {
    for (const [id, stop] of this.running) { this.send({ type: 'stop', id }); stop(); }
    this.cancelLoad();
  }

  forward(input: string | number[], options: ForwardRequestOptions = {}): Promise<ForwardOutput> {
    return this.request<ForwardOutput>({ type: 'forward', id: 0, input, options }, (msg) =>
      msg.type === 'forward-result' ? { logits: msg.logits, logitsShape: msg.logitsShape, hooks: msg.hooks, position: msg.position } : undefined);
  }

  trace(text: string | number[], options: TraceRequestOptions = {}): Promise<Trace> {
    const config = this.info.config;
    return this.request<Trace>({ type: 'trace', id: 0, text, options }, (msg) =>
      msg.type === 'trace-result' ? buildTrace(config, msg.payload) : undefined);
  }

  /**
   * The routing statistics of the Mixtral paper's section 5 over a text of any length (the same
   * implementation as the CLI's `analyze`), with progress per forward window.
   */
  analyze(text: string | number[], options: AnalyzeRequestOptions & LongRequest = {}): Promise<RoutingAnalysis> {
    const { onProgress, signal, ...rest } = options;
    return this.request<RoutingAnalysis>({ type: 'analyze', id: 0, text, options: rest }, (msg) =>
      msg.type === 'analyze-result' ? msg.result : undefined, (msg) => {
      if (msg.type !== 'analyze-progress') return false;
      onProgress?.(msg.done, msg.total);
      return true;
    }, signal);
  }

  /** Expert dashboards over texts (engine/analysis/experts.ts), with progress per forward window. */
  experts(texts: (string | number[])[], options: ExpertsRequestOptions & LongRequest = {}): Promise<ExpertsResult> {
    const { onProgress, signal, ...rest } = options;
    return this.request<ExpertsResult>({ type: 'experts', id: 0, texts, options: rest }, (msg) => (msg.type === 'experts-result' ? msg.result : undefined), progressOf(onProgress), signal);
  }

  /** The logit lens of a text (engine/lens/logit-lens.ts). */
  lens(text: string | number[], options: LensRequestOptions = {}): Promise<LensResult> {
    return this.request<LensResult>({ type: 'lens', id: 0, text, options }, (msg) => (msg.type === 'lens-result' ? msg.result : undefined));
  }

  /** What each weight format does to routing on these texts, against f16 (engine/quant/quant-routing.ts), with progress per forward. */
  quantRouting(texts: { name: string; ids: number[] }[], formats: WeightFormat[], options: LongRequest = {}): Promise<QuantRoutingRow[]> {
    return this.request<QuantRoutingRow[]>({ type: 'quant-routing', id: 0, texts, formats }, (msg) => (msg.type === 'quant-routing-result' ? msg.rows : undefined), progressOf(options.onProgress), options.signal);
  }

  /** Activation or routing patching (engine/patch/patching.ts), with progress per patched run. */
  patch(request: PatchRequest, options: LongRequest = {}): Promise<PatchOutcome> {
    return this.request<PatchOutcome>({ type: 'patch', id: 0, request }, (msg) => (msg.type === 'patch-result' ? msg.result : undefined), progressOf(options.onProgress), options.signal);
  }

  /**
   * What opening `source` would take, before any weights are fetched: files and sizes, the
   * weights' memory on this page's engine, whether this adapter can hold them. Needs no model loaded.
   */
  inspect(source: ModelSource, backend: 'auto' | 'cpu' | 'webgpu' = 'auto', weights?: WeightChoice): Promise<LoadPlan> {
    const id = this.nextId++;
    return new Promise<LoadPlan>((resolve, reject) => {
      this.handlers.set(id, (m) => {
        this.handlers.delete(id);
        if (m.type === 'inspect-result') resolve(m.plan);
        else reject(m.type === 'error' ? workerError(m.name, m.message, m.code) : new Error(`unexpected reply ${m.type}`));
      });
      this.send({ type: 'inspect', id, source, backend, ...(weights ? { weights } : {}) });
    });
  }

  /** What the engine holds now (live GPU buffers and bytes on WebGPU), measured in the worker. */
  stats(): Promise<WorkerStats> {
    return this.request<WorkerStats>({ type: 'stats', id: 0 }, (msg) => (msg.type === 'stats-result' ? msg.stats : undefined));
  }

  dispose(): void {
    this.stop();
    this.worker.terminate();
  }

  /**
   * One request, one reply; `progress` may take (and return true for) messages that come before it.
   * A long request (one with `progress`) is stopped by `signal` or by stop() (the header's Stop
   * button): the worker stops it before its next forward and the promise rejects.
   */
  private request<T>(msg: Extract<ToWorker, { id: number }>, pick: (m: FromWorker) => T | undefined, progress?: (m: FromWorker) => boolean, signal?: AbortSignal): Promise<T> {
    this.info; // throws before a model is loaded
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) { reject(signal.reason); return; }
      const done = () => {
        this.handlers.delete(id);
        signal?.removeEventListener('abort', abort);
        if (this.running.delete(id)) this.setState({ running: this.running.size });
      };
      const cancel = (reason: unknown) => { done(); this.send({ type: 'stop', id }); reject(reason); };
      const abort = () => cancel(signal!.reason);
      signal?.addEventListener('abort', abort, { once: true });
      if (progress) {
        this.running.set(id, () => cancel(new DOMException('stopped', 'AbortError')));
        this.setState({ running: this.running.size });
      }
      this.handlers.set(id, (m) => {
        if (progress?.(m)) return;
        done();
        if (m.type === 'error') reject(workerError(m.name, m.message));
        else { const v = pick(m); if (v === undefined) reject(new Error(`unexpected reply ${m.type}`)); else resolve(v); }
      });
      this.send({ ...msg, id });
    });
  }

  private send(msg: ToWorker): void {
    this.worker.postMessage(msg);
  }

  private receive(msg: FromWorker): void {
    switch (msg.type) {
      case 'progress':
        if (msg.load === this.loading) this.setState({ bytesDone: msg.bytesDone, bytesTotal: msg.bytesTotal, file: msg.file });
        return;
      case 'loaded':
        if (msg.load !== this.loading) return;
        this.loading = 0;
        this.tokenizer = msg.tokenizerJson ? new MixscopeTokenizer(msg.tokenizerJson) : null;
        this.setState({ phase: 'ready', info: msg.info, error: null });
        this.loadWaiters?.resolve(msg.info);
        this.loadWaiters = null;
        return;
      case 'load-error': {
        if (msg.load !== this.loading) return;
        this.loading = 0;
        const message = `${msg.name === 'Error' ? '' : `${msg.name}: `}${msg.message}`;
        this.setState({ phase: 'error', error: message });
        this.loadWaiters?.reject(workerError(msg.name, msg.message, msg.code));
        this.loadWaiters = null;
        return;
      }
      case 'load-cancelled':
        if (msg.load !== this.loading) return;
        this.loading = 0;
        // Back to where the page was: the model in use, no error.
        this.setState({ phase: this.state.info ? 'ready' : 'idle', error: null });
        this.loadWaiters?.reject(cancelled('the load was cancelled'));
        this.loadWaiters = null;
        return;
      case 'backend':
        // A change of engine mid-session is a fallback (the GPU was lost): a slower engine than chosen.
        if (this.state.info) this.setState({ info: { ...this.state.info, backend: msg.backend, backendDescription: msg.description, backendChoice: 'slower' } });
        return;
      default:
        this.handlers.get(msg.id)?.(msg);
    }
  }

  private fail(message: string): void {
    this.setState({ phase: 'error', error: message });
    this.loadWaiters?.reject(new Error(message));
    this.loadWaiters = null;
    for (const h of [...this.handlers.values()]) h({ type: 'error', id: 0, name: 'Error', message });
  }

  private setState(patch: Partial<LoadState>): void {
    this.state = { ...this.state, ...patch };
    for (const fn of this.listeners) fn(this.state);
  }
}

// The engine worker: loads models, runs one request at a time, streams generation steps.
// The page only draws; all engine work (and the weights) live here.
//
// A load runs beside the requests: the model in use keeps answering while another loads, and a
// load that fails or is cancelled (Stop, "Back to the default model", any newer load) leaves it
// as it was. A new model replaces the old one between two requests, after stopping generations
// on the old one. If the GPU device is lost, at any moment (idle, in a forward, in a readback),
// the worker moves to the CPU engine, says so, and runs the interrupted request again there: a
// generation starts again from its prompt, and the page is told to forget the steps it had.
/// <reference lib="webworker" />
import type { Engine } from '../../engine/engine.ts';
import { DeviceLostError } from '../../engine/webgpu/gpu.ts';
import { promptIds } from '../../engine/generation/prompt.ts';
import { resolveHookNames } from '../../engine/hooks/request.ts';
import { analyzeRouting } from '../../engine/analysis/analyze-routing.ts';
import { checkpointSource, cpuFallback, cpuWeightsOf, openModelAndEngine, modelInfo, type OpenedEngine, type SiteModel } from './engine-host.ts';
import { planLoad } from './load-plan.ts';
import { generationPayloads, namedHooks } from './generation-payloads.ts';
import { runTrace } from './run-trace.ts';
import { runExperts, runLens, runPatch } from './research.ts';
import { yieldingEngine } from './yielding-engine.ts';
import { lensHead } from '../../engine/lens/logit-lens.ts';
import { quantRouting } from '../../engine/quant/quant-routing.ts';
import { transferables } from './transferables.ts';
import type { FromWorker, ToWorker } from './protocol.ts';
import type { WeightFormat } from '../../engine/footprint/formats.ts';

type Request = Exclude<ToWorker, { type: 'load' | 'cancel-load' | 'stop' }>;

const scope = self as unknown as DedicatedWorkerGlobalScope;
let model: SiteModel | null = null;
let opened: OpenedEngine | null = null;
/** One per request queued or running, by id: a stop may arrive before its request starts. */
const stops = new Map<number, AbortController>();
/** The generations among them: a new model stops them before it takes over. */
const generations = new Set<number>();
let queue: Promise<void> = Promise.resolve();
/** The load in progress, if any: a newer load or 'cancel-load' aborts it. */
let loading: { id: number; controller: AbortController } | null = null;

function post(msg: FromWorker, ...transfer: unknown[]): void {
  scope.postMessage(msg, transferables(...transfer));
}

/** A macrotask boundary, so a stop message is seen between tokens even on the CPU engine. */
const nextTask = () => new Promise<void>((r) => setTimeout(r, 0));

/** Run `task` on the engine in use after what is queued (requests share the engine and its GPU queue). */
function enqueue(task: () => Promise<void> | void): Promise<void> {
  const run = queue.then(task);
  queue = run.catch(() => {});
  return run;
}

scope.onmessage = (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  if (msg.type === 'stop') { stops.get(msg.id)?.abort(); return; }
  if (msg.type === 'cancel-load') {
    if (loading?.id === msg.id) loading.controller.abort(new DOMException('the load was cancelled', 'AbortError'));
    return;
  }
  if (msg.type === 'load') { void load(msg); return; }
  stops.set(msg.id, new AbortController());
  if (msg.type === 'generate') generations.add(msg.id);
  void enqueue(() => handle(msg));
};

async function handle(msg: Request): Promise<void> {
  const signal = stops.get(msg.id)!.signal;
  try {
    if (signal.aborted) return;
    for (;;) {
      // 'inspect' needs no model: it sizes one before it is loaded.
      const engine = msg.type === 'inspect' ? null : requireEngine();
      try {
        await serve(msg, engine, signal);
        return;
      } catch (e) {
        // The GPU went away under this request: carry on with the CPU engine, and run it again there.
        if (!(e instanceof DeviceLostError) || engine?.backend !== 'webgpu' || !model) throw e;
        if (opened?.engine === engine) await fallBackToCpu(e);
        if (msg.type === 'generate') post({ type: 'restart', id: msg.id, reason: opened!.reason ?? 'the WebGPU device was lost' });
      }
    }
  } catch (e) {
    const err = e as Error;
    post({ type: 'error', id: msg.id, name: err.name, message: err.message, code: errorCode(err) });
  } finally {
    stops.delete(msg.id);
    generations.delete(msg.id);
  }
}

/** A typed error's code (HubError, CheckpointError), so the page can say what to do without reading the message. */
const errorCode = (e: Error): string | undefined => {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
};

/** One request on `engine` (null only for 'inspect'). */
async function serve(msg: Request, engine: Engine | null, signal: AbortSignal): Promise<void> {
  if (msg.type === 'inspect') {
    // Sizes and limits before anything large is fetched; a stop aborts its requests.
    post({ type: 'inspect-result', id: msg.id, plan: await planLoad(checkpointSource(msg.source, signal), msg.backend, msg.weights) });
    return;
  }
  if (!engine) throw new Error('no model is loaded yet');
  const tokenizer = model!.tokenizer;
  if (msg.type === 'generate') {
    // The loop disposes its session however this ends: done, stopped, or a failed post.
    const lens = msg.options.lens ? lensHead(model!.config, model!.head) : undefined;
    for await (const payload of generationPayloads(engine, tokenizer, msg.prompt, msg.options, signal, lens)) {
      post({ type: 'step', id: msg.id, payload }, payload.routing, payload.attention, payload.hooks);
      await nextTask();
    }
  } else if (msg.type === 'forward') {
    const ids = promptIds(engine.config, tokenizer, msg.input, 'forward');
    const names = resolveHookNames(engine.config, msg.options.hooks ?? []);
    const r = await engine.forward(ids, { hooks: [...names], interventions: msg.options.interventions, output: msg.options.logits });
    const hooks = namedHooks(r.hooks, names);
    const logits = r.logits.slice();
    post({ type: 'forward-result', id: msg.id, logits, logitsShape: r.logitsShape, hooks, position: r.position }, logits, hooks);
  } else if (msg.type === 'analyze') {
    let ids = promptIds(engine.config, tokenizer, msg.text, 'any-length');
    if (msg.options.maxTokens !== undefined) ids = ids.slice(0, Math.max(2, Math.floor(msg.options.maxTokens)));
    const result = await analyzeRouting(yieldingEngine(engine), ids, (done, total) => post({ type: 'analyze-progress', id: msg.id, done, total }), signal);
    post({ type: 'analyze-result', id: msg.id, result });
  } else if (msg.type === 'experts' || msg.type === 'lens' || msg.type === 'patch') {
    await research(engine, msg, signal);
  } else if (msg.type === 'trace') {
    const payload = await runTrace(engine, tokenizer, msg.text, msg.options);
    post({ type: 'trace-result', id: msg.id, payload }, payload.routing, payload.attention, payload.loss);
  } else if (msg.type === 'quant-routing') {
    // The CPU engine on the model's weights converted to each format, whatever engine is in use:
    // a macrotask after each forward, so a stop gets in.
    // Against the weights as loaded, in float32 (a 16-bit checkpoint's own values, exactly).
    const rows = await quantRouting(model!.config, await cpuWeightsOf(model!, signal), msg.texts, msg.formats, {
      reference: 'f32', signal, onStep: (done, total) => { post({ type: 'request-progress', id: msg.id, done, total }); return nextTask(); },
    });
    post({ type: 'quant-routing-result', id: msg.id, rows });
  } else if (msg.type === 'stats') {
    const meter = opened?.meter;
    post({ type: 'stats-result', id: msg.id, stats: { gpu: meter ? { liveBuffers: meter.liveBuffers, liveBytes: meter.liveBytes, created: meter.created } : null } });
  }
}

/** The research instruments (site/api/research.ts), with progress per forward window or patched run. */
async function research(engine: Engine, msg: Extract<ToWorker, { type: 'experts' | 'lens' | 'patch' }>, signal: AbortSignal): Promise<void> {
  const progress = (done: number, total: number) => post({ type: 'request-progress', id: msg.id, done, total });
  // Many forwards: each after a macrotask, so a stop gets in between them (yielding-engine.ts).
  const stoppable = yieldingEngine(engine);
  if (msg.type === 'experts') post({ type: 'experts-result', id: msg.id, result: await runExperts(stoppable, model!, msg.texts, msg.options, signal, progress) });
  else if (msg.type === 'lens') post({ type: 'lens-result', id: msg.id, result: await runLens(engine, model!, msg.text, msg.options) });
  else post({ type: 'patch-result', id: msg.id, result: await runPatch(stoppable, model!, msg.request, signal, progress) });
}

function requireEngine(): Engine {
  if (!opened) throw new Error('no model is loaded yet');
  return opened.engine;
}

/**
 * Load a model beside the requests (fetching and parsing are asynchronous, so the model in use
 * answers meanwhile), then swap it in between two requests. Any newer load, or 'cancel-load',
 * aborts this one: its fetches, its parsing, and the swap if it has not happened yet.
 */
async function load(msg: Extract<ToWorker, { type: 'load' }>): Promise<void> {
  loading?.controller.abort(new DOMException('another model is being loaded', 'AbortError'));
  const mine = { id: msg.id, controller: new AbortController() };
  loading = mine;
  const { signal } = mine.controller;
  try {
    // A weight format (or 'auto') is sized first: refused with the numbers when it does not fit.
    // Automatic with nothing that fits goes on without a format: the loader's own checks then say
    // what is wrong (a config that lies about its files, or the tensor that crosses the limit).
    let format: WeightFormat | undefined;
    if (msg.weights) {
      const plan = await planLoad(checkpointSource(msg.source, signal), msg.backend, msg.weights);
      if (plan.format && !plan.refusal) format = plan.format;
      else if (msg.weights !== 'auto') throw new Error(`Not opened: ${plan.refusal ?? 'no weight format fits here'}`);
    }
    // On WebGPU the weights stream straight to the GPU; the tab never holds them.
    const { model: m, opened: o } = await openModelAndEngine(msg.source, msg.backend,
      (p) => post({ type: 'progress', load: msg.id, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, file: p.file }), signal, format);
    if (signal.aborted) o.engine.dispose();
    signal.throwIfAborted();
    // Generations on the old model end at their next token; the swap waits for the queue.
    for (const id of generations) stops.get(id)?.abort();
    await enqueue(() => {
      if (signal.aborted) { o.engine.dispose(); signal.throwIfAborted(); }
      // Releases the weights and any session still open.
      opened?.engine.dispose();
      model = m;
      opened = o;
      watchDevice(o);
      post({ type: 'loaded', load: msg.id, info: modelInfo(m, o), tokenizerJson: m.tokenizerJson });
    });
  } catch (e) {
    if (signal.aborted) post({ type: 'load-cancelled', load: msg.id });
    else post({ type: 'load-error', load: msg.id, name: (e as Error).name, message: (e as Error).message, code: errorCode(e as Error) });
  } finally {
    if (loading === mine) loading = null;
  }
}

/** A device lost while nothing runs: move to the CPU engine at once, so the header says so. */
function watchDevice(o: OpenedEngine): void {
  void o.lost?.then((lost) => enqueue(async () => { if (opened === o) await fallBackToCpu(lost); }));
}

/**
 * The GPU went away (driver reset, tab in background too long): carry on with the CPU engine,
 * its weights read again from the model's source (on WebGPU the tab did not keep them).
 */
async function fallBackToCpu(lost: DeviceLostError): Promise<void> {
  opened?.engine.dispose();
  const cpu = await cpuFallback(model!, `the WebGPU device was lost (${lost.reason})`);
  model = cpu.model;
  opened = cpu.opened;
  post({ type: 'backend', backend: 'cpu', description: `CPU (${opened.reason})` });
}

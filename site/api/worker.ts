// The engine worker: loads the model, runs one request at a time, streams generation steps.
// The page only draws; all engine work (and the weights) live here.
/// <reference lib="webworker" />
import type { Engine } from '../../engine/engine.ts';
import type { Model } from '../../engine/model.ts';
import { DeviceLostError } from '../../engine/webgpu/gpu.ts';
import { promptIds } from '../../engine/generation/prompt.ts';
import { resolveHookNames } from '../../engine/hooks/request.ts';
import { analyzeRouting } from '../../engine/analysis/analyze-routing.ts';
import { checkpointSource, openEngine, openModel, modelInfo, type OpenedEngine } from './engine-host.ts';
import { planLoad } from './load-plan.ts';
import { generationPayloads, namedHooks } from './generation-payloads.ts';
import { runTrace } from './run-trace.ts';
import { transferables } from './transferables.ts';
import type { FromWorker, ToWorker } from './protocol.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;
let model: Model | null = null;
let opened: OpenedEngine | null = null;
/** One per request queued or running, by id: a stop may arrive before its request starts. */
const stops = new Map<number, AbortController>();
let queue: Promise<void> = Promise.resolve();

function post(msg: FromWorker, ...transfer: unknown[]): void {
  scope.postMessage(msg, transferables(...transfer));
}

/** A macrotask boundary, so a stop message is seen between tokens even on the CPU engine. */
const nextTask = () => new Promise<void>((r) => setTimeout(r, 0));

scope.onmessage = (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  if (msg.type === 'stop') { stops.get(msg.id)?.abort(); return; }
  if (msg.type !== 'load') stops.set(msg.id, new AbortController());
  // Requests run one after another: the engine and its GPU queue are shared.
  queue = queue.then(() => handle(msg)).catch(() => {});
};

async function handle(msg: ToWorker): Promise<void> {
  if (msg.type === 'load') return load(msg);
  if (msg.type === 'stop') return;
  const signal = stops.get(msg.id)!.signal;
  if (signal.aborted) { stops.delete(msg.id); return; }
  try {
    if (msg.type === 'inspect') {
      post({ type: 'inspect-result', id: msg.id, plan: await planLoad(checkpointSource(msg.source), msg.backend) });
      return;
    }
    const engine = requireEngine();
    const tokenizer = model!.tokenizer;
    if (msg.type === 'generate') {
      // The loop disposes its session however this ends: done, stopped, or a failed post.
      for await (const payload of generationPayloads(engine, tokenizer, msg.prompt, msg.options, signal)) {
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
      const result = await analyzeRouting(engine, ids, (done, total) => post({ type: 'analyze-progress', id: msg.id, done, total }));
      post({ type: 'analyze-result', id: msg.id, result });
    } else if (msg.type === 'trace') {
      const payload = await runTrace(engine, tokenizer, msg.text, msg.options);
      post({ type: 'trace-result', id: msg.id, payload }, payload.routing, payload.attention, payload.loss);
    } else if (msg.type === 'stats') {
      const meter = opened?.meter;
      post({ type: 'stats-result', id: msg.id, stats: { gpu: meter ? { liveBuffers: meter.liveBuffers, liveBytes: meter.liveBytes, created: meter.created } : null } });
    }
  } catch (e) {
    const err = e as Error;
    post({ type: 'error', id: msg.id, name: err.name, message: err.message, code: errorCode(err) });
    if (err instanceof DeviceLostError && model) await fallBackToCpu(err);
  } finally {
    stops.delete(msg.id);
  }
}

/** A typed error's code (HubError, CheckpointError), so the page can say what to do without reading the message. */
const errorCode = (e: Error): string | undefined => {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
};

function requireEngine(): Engine {
  if (!opened) throw new Error('no model is loaded yet');
  return opened.engine;
}

async function load(msg: Extract<ToWorker, { type: 'load' }>): Promise<void> {
  try {
    // The current model stays usable until the new one is ready: a bad checkpoint only costs an error.
    const m = await openModel(msg.source, (p) => post({ type: 'progress', bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, file: p.file }));
    const o = await openEngine(m, msg.backend);
    // Releases the weights and any session still open (generations end before a load runs).
    opened?.engine.dispose();
    model = m;
    opened = o;
    post({ type: 'loaded', info: modelInfo(m, o), tokenizerJson: m.tokenizerJson });
  } catch (e) {
    const err = e as Error;
    post({ type: 'load-error', name: err.name, message: err.message, code: errorCode(err) });
  }
}

/** The GPU went away (driver reset, tab in background too long): carry on with the CPU engine. */
async function fallBackToCpu(lost: DeviceLostError): Promise<void> {
  opened?.engine.dispose();
  const o = await openEngine(model!, 'cpu');
  opened = { engine: o.engine, reason: `the WebGPU device was lost (${lost.reason})`, meter: null };
  post({ type: 'backend', backend: 'cpu', description: `CPU (${opened.reason})` });
}

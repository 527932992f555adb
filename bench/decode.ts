// Decode timing as the generation loop steps: each token sent before the previous one is read
// (forwardPicked on WebGPU: the device never waits on the host), at a fixed place in the context.
// A session is filled to position p; then tokens are decoded in bursts of REWIND from p (the
// session truncated back to p between bursts), so every measured token sits at p .. p + 15. The
// first token of a burst waits for nothing before it and is not measured; the first 16 tokens are
// warm-up. Per token: wall milliseconds between consecutive results (median, p10, p90), the
// host's milliseconds (planning, encoding, reading back: GpuForwardResult.hostMs) and the GPU's
// (timestamps), and the engine's counters per call. Several modes are measured in turns, burst
// by burst (decodeModesAt), so their ratios are side by side in time.
import type { Engine, EngineSession, ForwardRequest, ForwardResult } from '../engine/engine.ts';
import { routingHooks } from '../engine/routing/routing.ts';
import { countersSince, type Counters } from '../engine/webgpu/gpu.ts';
import type { WebGpuEngine } from '../engine/webgpu/engine.ts';

export const WARMUP = 16, MEASURED = 256, REWIND = 16;

/** The modes the bench compares: what a decode step asks for. */
export const MODES: Record<string, (draw: number) => ForwardRequest> = {
  /** Sampled on the device (temperature 1), nothing else read back. */
  no_hooks: (draw) => ({ output: 'token', sample: { temperature: 1, seed: 7, draw } }),
  /** The argmax on the device. */
  greedy: () => ({ output: 'token' }),
  /** What the site's worker asks of each step: attention patterns, routing, 10 candidates (site/api/generation-payloads.ts). */
  site_hooks: (draw) => ({ output: 'token', sample: { temperature: 1, seed: 7, draw }, candidates: 10, hooks: ['blocks.*.attn.hook_pattern', ...routingHooks()] }),
  /** Every hook point observed. */
  every_hook: (draw) => ({ output: 'token', sample: { temperature: 1, seed: 7, draw }, hooks: ['*'] }),
};

export interface PositionFigures {
  positions: [number, number];
  median_ms: number; p10_ms: number; p90_ms: number; tokens_per_s: number;
  host_ms: number; gpu_ms: number | null;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const round = (v: number, d = 3) => +v.toFixed(d);

/** A prompt of n token ids (deterministic, away from the special ids). */
export const promptOf = (n: number, vocab: number) => Array.from({ length: n }, (_, i) => 3 + ((i * 977 + 13) % (vocab - 3)));

interface ModeRun { wall: number[]; host: number[]; gpu: number[]; draw: number; seen: number; calls: number; counters: Counters | null }

/**
 * Decode `measured` tokens per mode at positions p .. p + REWIND - 1 of `session` (already filled
 * to p), after `warmup` tokens per mode. The modes take turns burst by burst, so a machine whose
 * load changes during the run slows them alike and their ratios hold (a mode run after another
 * would meet a different machine). The engine's counters are summed over the measured bursts only
 * (warm calls: a first call's pipeline compilation is not a steady-state cost). Returns each
 * mode's figures and counters per call, and every GPU reading (ms).
 */
export async function decodeModesAt(engine: Engine, session: EngineSession, p: number, modes: Record<string, (draw: number) => ForwardRequest>, o = { warmup: WARMUP, measured: MEASURED }): Promise<Record<string, { figures: PositionFigures; counters: Counters | null; gpuReadings: number[] }>> {
  const gpuEngine = engine.backend === 'webgpu' ? (engine as WebGpuEngine) : null;
  const runs: Record<string, ModeRun> = Object.fromEntries(Object.keys(modes).map((m) => [m, { wall: [], host: [], gpu: [], draw: 0, seen: 0, calls: 0, counters: null }]));
  let token = 5;
  const burst = async (run: ModeRun, mode: (draw: number) => ForwardRequest) => {
    const warm = run.seen >= o.warmup;
    const before = gpuEngine ? { ...gpuEngine.counters } : null;
    let calls = 0;
    const send = (): Promise<ForwardResult & { hostMs?: number; gpuMs?: number }> => {
      calls++;
      const request = mode(run.draw++);
      const r = session.forwardPicked ? session.forwardPicked(request) : session.forward([token], request);
      r.catch(() => {}); // awaited below; a failure there ends the run, and the calls sent after it fail with it
      return r;
    };
    session.truncate(p);
    let pending: ReturnType<typeof send> | null = send();
    let t = performance.now();
    for (let i = 0; i < REWIND && pending; i++) {
      const next = session.forwardPicked && i + 1 < REWIND ? send() : null;
      const r = await pending;
      const now = performance.now();
      token = r.token;
      if (i > 0 && run.seen >= o.warmup && run.wall.length < o.measured) {
        run.wall.push(now - t);
        if (r.hostMs !== undefined) run.host.push(r.hostMs);
        if (r.gpuMs !== undefined) run.gpu.push(r.gpuMs);
      }
      run.seen++;
      t = now;
      pending = next ?? (!session.forwardPicked && i + 1 < REWIND ? send() : null);
    }
    if (warm && gpuEngine && before) {
      const delta = countersSince(before, gpuEngine.counters);
      run.counters = run.counters ? (Object.fromEntries(Object.entries(run.counters).map(([k, v]) => [k, v + delta[k as keyof Counters]])) as unknown as Counters) : delta;
      run.calls += calls;
    }
  };
  // A mode also runs until one warm burst has been counted (a short run may measure its tokens within the first).
  const unfinished = (r: ModeRun) => r.wall.length < o.measured || (gpuEngine !== null && r.counters === null);
  while (Object.values(runs).some(unfinished)) {
    for (const [name, mode] of Object.entries(modes)) if (unfinished(runs[name])) await burst(runs[name], mode);
  }
  return Object.fromEntries(Object.entries(runs).map(([name, run]) => {
    const median = quantile(run.wall, 0.5);
    const figures: PositionFigures = {
      positions: [p, p + REWIND - 1], median_ms: round(median), p10_ms: round(quantile(run.wall, 0.1)), p90_ms: round(quantile(run.wall, 0.9)),
      tokens_per_s: round(1000 / median, 1), host_ms: round(run.host.length ? quantile(run.host, 0.5) : median), gpu_ms: run.gpu.length ? round(quantile(run.gpu, 0.5), 4) : null,
    };
    const counters = run.counters && run.calls > 0 ? (Object.fromEntries(Object.entries(run.counters).map(([k, v]) => [k, round(v / run.calls, 2)])) as unknown as Counters) : null;
    return [name, { figures, counters, gpuReadings: run.gpu }];
  }));
}

/** decodeModesAt with one mode. */
export async function decodeAt(engine: Engine, session: EngineSession, p: number, mode: (draw: number) => ForwardRequest, o = { warmup: WARMUP, measured: MEASURED }): Promise<{ figures: PositionFigures; counters: Counters | null; gpuReadings: number[] }> {
  return (await decodeModesAt(engine, session, p, { mode }, o)).mode;
}

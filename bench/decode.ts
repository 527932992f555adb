// Decode timing as the generation loop steps: each token sent before the previous one is read
// (forwardPicked on WebGPU: the device never waits on the host), at a fixed place in the context.
// A session is filled to position p; then tokens are decoded in bursts of REWIND from p (the
// session truncated back to p between bursts), so every measured token sits at p .. p + 15. The
// first token of a burst waits for nothing before it and is not measured; the first 16 tokens are
// warm-up. Per token: wall milliseconds between consecutive results (median, p10, p90), the
// host's milliseconds (planning, encoding, reading back: GpuForwardResult.hostMs) and the GPU's
// (timestamps), and the engine's counters per call.
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

/**
 * Decode `measured` tokens at positions p .. p + REWIND - 1 of `session` (already filled to p),
 * after `warmup`, with `mode`'s request. Returns the figures and every GPU reading (ms).
 */
export async function decodeAt(engine: Engine, session: EngineSession, p: number, mode: (draw: number) => ForwardRequest, o = { warmup: WARMUP, measured: MEASURED }): Promise<{ figures: PositionFigures; counters: Counters | null; gpuReadings: number[] }> {
  const gpuEngine = engine.backend === 'webgpu' ? (engine as WebGpuEngine) : null;
  const before = gpuEngine ? { ...gpuEngine.counters } : null;
  const wall: number[] = [], host: number[] = [], gpu: number[] = [];
  let draw = 0, calls = 0, token = 5, seen = 0;
  const send = (): Promise<ForwardResult & { hostMs?: number; gpuMs?: number }> => {
    calls++;
    const request = mode(draw++);
    const r = session.forwardPicked ? session.forwardPicked(request) : session.forward([token], request);
    r.catch(() => {}); // awaited below; a failure there ends the run, and the calls sent after it fail with it
    return r;
  };
  while (wall.length < o.measured) {
    session.truncate(p);
    let pending: ReturnType<typeof send> | null = send();
    let t = performance.now();
    for (let i = 0; i < REWIND && pending; i++) {
      const next = session.forwardPicked && i + 1 < REWIND ? send() : null;
      const r = await pending;
      const now = performance.now();
      token = r.token;
      if (i > 0 && seen >= o.warmup && wall.length < o.measured) {
        wall.push(now - t);
        if (r.hostMs !== undefined) host.push(r.hostMs);
        if (r.gpuMs !== undefined) gpu.push(r.gpuMs);
      }
      seen++;
      t = now;
      pending = next ?? (!session.forwardPicked && i + 1 < REWIND ? send() : null);
    }
  }
  const median = quantile(wall, 0.5);
  const counters = gpuEngine && before ? countersSince(before, gpuEngine.counters) : null;
  return {
    figures: {
      positions: [p, p + REWIND - 1], median_ms: round(median), p10_ms: round(quantile(wall, 0.1)), p90_ms: round(quantile(wall, 0.9)),
      tokens_per_s: round(1000 / median, 1), host_ms: round(host.length ? quantile(host, 0.5) : median), gpu_ms: gpu.length ? round(quantile(gpu, 0.5), 4) : null,
    },
    counters: counters && (Object.fromEntries(Object.entries(counters).map(([k, v]) => [k, round(v / calls, 2)])) as unknown as Counters),
    gpuReadings: gpu,
  };
}

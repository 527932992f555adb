// What every backend offers: sessions that keep a KV cache and end with dispose(), and one
// forward whose output is asked for explicitly. The CPU engine (cpu/engine.ts) and the WebGPU
// engine (webgpu/engine.ts) implement it; everything else (generation, analyses, the CLI, the
// site's worker, the bench) is written against this file only.
import type { MixtralConfig } from './config.ts';
import type { HookRequest, HookValue } from './hooks/request.ts';
import type { Intervention } from './hooks/interventions.ts';
import type { SamplingOptions } from './sampling.ts';

/**
 * What a forward returns besides its hooks:
 * - 'last': the logits of the last position, (V);
 * - 'all': the logits of every position of the call, (T, V);
 * - 'argmax' (or 'token'): the token the engine picks for the last position (the argmax, or the
 *   draw asked for with `sample`) is all the caller needs: an engine that picks it on the device
 *   (WebGPU) reads back the token (and the candidates asked for) instead of V floats and returns
 *   empty logits; the CPU engine, which has them in hand anyway, still returns the last row's (V).
 */
export type ForwardOutput = 'last' | 'all' | 'argmax' | 'token';

/** The next-token candidates of a forward: the most likely ids, best first, with their probabilities at temperature 1. */
export interface TokenCandidates { ids: number[]; probs: number[] }

export interface ForwardRequest {
  /** Hook points to observe (names or patterns), or a full request with function hooks. */
  hooks?: readonly string[] | HookRequest;
  interventions?: readonly Intervention[];
  /** Default 'last'. */
  output?: ForwardOutput;
  /**
   * Draw `token` with these options instead of taking the argmax; `draw` is this draw's index in
   * the seeded stream (the index of the token generated). The same procedure on every engine
   * (engine/sampling.ts: pickToken), so the same seed gives the same tokens.
   */
  sample?: SamplingOptions & { draw: number };
  /** Also return the `candidates` most likely next tokens (engine/sampling.ts: topTokens). */
  candidates?: number;
}

export interface ForwardResult {
  /** (V) for 'last', (T, V) row-major for 'all'; for 'argmax', length 0 on WebGPU and (V) on the CPU. */
  logits: Float32Array;
  logitsShape: number[];
  /** The argmax of the last position's logits (ties go to the lower id), or the draw asked for with `sample`. */
  token: number;
  /** The next-token candidates, when asked for with `candidates`. */
  candidates?: TokenCandidates;
  /** Observed hook values by name: only what was asked for. */
  hooks: Map<string, HookValue>;
  /** Absolute position of the first token of this call. */
  position: number;
}

/**
 * A sequence being read or written, with its KV cache. It holds resources (on the GPU: the cache,
 * scratch buffers, bind groups) until dispose(); `using session = engine.createSession()` or a
 * try/finally makes sure that happens on every path. A disposed session refuses to run.
 */
export interface EngineSession extends Disposable, AsyncDisposable {
  /** Number of positions in the KV cache. */
  readonly position: number;
  /** Feed tokens after what the session has seen so far. */
  forward(ids: readonly number[], request?: ForwardRequest): Promise<ForwardResult>;
  /**
   * Feed the token this session's last call picked, without waiting for that call to end: an
   * engine that picks tokens on the device (WebGPU) submits the step at once, so the device never
   * waits on the host between tokens. Optional: the generation loop uses it where it exists.
   */
  forwardPicked?(request?: ForwardRequest): Promise<ForwardResult>;
  /** Forget positions from `length` on. */
  truncate(length: number): void;
  /** Release what the session holds. Safe to call more than once. */
  dispose(): void;
}

export interface Engine extends Disposable {
  readonly backend: 'cpu' | 'webgpu';
  readonly config: MixtralConfig;
  /** One-line description of where it runs (adapter name, or "CPU"). */
  readonly description: string;
  createSession(): EngineSession;
  /** A whole-sequence forward in a fresh session, disposed before it returns. */
  forward(ids: readonly number[], request?: ForwardRequest): Promise<ForwardResult>;
  /** Release the weights and every session still open. */
  dispose(): void;
}

export function normaliseHookRequest(h: ForwardRequest['hooks']): HookRequest {
  if (!h) return {};
  return Array.isArray(h) ? { observe: h as readonly string[] } : (h as HookRequest);
}

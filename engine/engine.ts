// What every backend offers: sessions that keep a KV cache and end with dispose(), and one
// forward whose output is asked for explicitly. The CPU engine (cpu/engine.ts) and the WebGPU
// engine (webgpu/engine.ts) implement it; everything else (generation, analyses, the CLI, the
// site's worker, the bench) is written against this file only.
import type { MixtralConfig } from './config.ts';
import type { HookRequest, HookValue } from './hooks/request.ts';
import type { Intervention } from './hooks/interventions.ts';

/**
 * What a forward returns besides its hooks:
 * - 'last': the logits of the last position, (V);
 * - 'all': the logits of every position of the call, (T, V);
 * - 'argmax': the greedy token of the last position is all the caller needs: an engine that can
 *   pick it on the device (WebGPU) reads back 4 bytes instead of V floats and returns empty
 *   logits; the CPU engine, which has them in hand anyway, still returns the last row's (V).
 */
export type ForwardOutput = 'last' | 'all' | 'argmax';

export interface ForwardRequest {
  /** Hook points to observe (names or patterns), or a full request with function hooks. */
  hooks?: readonly string[] | HookRequest;
  interventions?: readonly Intervention[];
  /** Default 'last'. */
  output?: ForwardOutput;
}

export interface ForwardResult {
  /** (V) for 'last', (T, V) row-major for 'all'; for 'argmax', length 0 on WebGPU and (V) on the CPU. */
  logits: Float32Array;
  logitsShape: number[];
  /** The argmax of the last position's logits (ties go to the lower id), whatever the output. */
  token: number;
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

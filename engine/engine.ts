// What every backend offers: a stateless forward for whole texts and sessions that keep a KV
// cache for generation. The CPU engine implements it here; the WebGPU engine implements the same.
import type { MixtralConfig } from './config.ts';
import type { HookRequest, HookValue } from './hooks/request.ts';
import type { Intervention } from './hooks/interventions.ts';

export interface ForwardRequest {
  /** Hook points to observe (names or patterns), or a full request with function hooks. */
  hooks?: readonly string[] | HookRequest;
  interventions?: readonly Intervention[];
  /** 'last' (default): logits of the last position (V); 'all': (T, V). */
  logits?: 'last' | 'all';
}

export interface ForwardResult {
  /** (V) or (T, V) row-major, as asked. */
  logits: Float32Array;
  logitsShape: number[];
  /** Observed hook values by name: only what was asked for. */
  hooks: Map<string, HookValue>;
  /** Absolute position of the first token of this call. */
  position: number;
}

export interface EngineSession {
  /** Number of positions in the KV cache. */
  readonly position: number;
  /** Feed tokens after what the session has seen so far. */
  forward(ids: readonly number[], request?: ForwardRequest): Promise<ForwardResult>;
  /** Forget positions from `length` on. */
  truncate(length: number): void;
}

export interface Engine {
  readonly backend: 'cpu' | 'webgpu';
  readonly config: MixtralConfig;
  /** One-line description of where it runs (adapter name, or "CPU"). */
  readonly description: string;
  createSession(): EngineSession;
  /** A whole-sequence forward in a fresh session. */
  forward(ids: readonly number[], request?: ForwardRequest): Promise<ForwardResult>;
  dispose(): void;
}

export function normaliseHookRequest(h: ForwardRequest['hooks']): HookRequest {
  if (!h) return {};
  return Array.isArray(h) ? { observe: h as readonly string[] } : (h as HookRequest);
}

// Messages between the page and the engine worker. Everything here is structured-cloneable;
// typed arrays travel as transferables, so a step costs no copy.
import type { Intervention } from '../../engine/hooks/interventions.ts';
import type { HookValue } from '../../engine/hooks/request.ts';
import type { Finish } from '../../engine/generate.ts';
import type { LayerRouting } from '../../engine/routing/routing.ts';
import type { NextTokenData, TokenInfo } from '../../viz/types.ts';
import type { ModelInfo } from './types.ts';
import type { RoutingAnalysis } from '../../engine/analysis/analyze-routing.ts';
import type { LoadPlan } from './load-plan.ts';

/** Where the weights come from. */
export type ModelSource =
  | { kind: 'url'; base: string }
  | { kind: 'files'; files: File[] }
  /** A Hub model ("org/name[@revision]"), cached in this browser (Cache Storage). */
  | { kind: 'hub'; model: string; endpoint?: string; token?: string };

/** What one forward of a generation produced. */
export interface StepPayload {
  /** Tokens fed in this call (the prompt first, then one sampled token per step), with their text. */
  fed: TokenInfo[];
  /** Per layer, the routing of the tokens fed. */
  routing: LayerRouting[];
  /** Per layer, (H, T, S) attention of the tokens fed, S = position + T keys; absent when not asked for. */
  attention?: Float32Array[];
  /** The token sampled after this call; absent for the closing call that only routes the last token. */
  sampled?: TokenInfo;
  next?: NextTokenData;
  /** The extra hooks asked for by name, as the engine gives them. */
  hooks: Record<string, HookValue>;
  /** Set on the last payload of a generation. */
  finish?: Finish;
  /** Decode tokens per second so far. */
  tokensPerSecond: number;
}

export interface TracePayload {
  tokens: TokenInfo[];
  routing: LayerRouting[];
  attention?: Float32Array[];
  loss: Float32Array;
}

/** The engine's resources, as the worker measures them. */
export interface WorkerStats {
  /** Live GPU buffers of the engine's device and their bytes; null on the CPU engine. */
  gpu: { liveBuffers: number; liveBytes: number; created: number } | null;
}

export interface GenerateRequestOptions {
  maxTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  interventions?: Intervention[];
  hooks?: string[];
  candidates?: number;
  /** Collect attention patterns (default true). */
  attention?: boolean;
}

export interface ForwardRequestOptions {
  hooks?: string[];
  interventions?: Intervention[];
  logits?: 'last' | 'all';
}

export interface TraceRequestOptions {
  interventions?: Intervention[];
  /** Collect attention patterns (default true). */
  attention?: boolean;
}

export interface AnalyzeRequestOptions {
  /** Analyse only the first this many tokens of the text (default: all of it). */
  maxTokens?: number;
}

export type ToWorker =
  | { type: 'load'; source: ModelSource; backend: 'auto' | 'cpu' }
  | { type: 'generate'; id: number; prompt: string | number[]; options: GenerateRequestOptions }
  | { type: 'forward'; id: number; input: string | number[]; options: ForwardRequestOptions }
  | { type: 'trace'; id: number; text: string | number[]; options: TraceRequestOptions }
  | { type: 'analyze'; id: number; text: string | number[]; options: AnalyzeRequestOptions }
  | { type: 'stats'; id: number }
  | { type: 'inspect'; id: number; source: ModelSource; backend: 'auto' | 'cpu' }
  | { type: 'stop'; id: number };

export type FromWorker =
  | { type: 'progress'; bytesDone: number; bytesTotal: number; file: string }
  | { type: 'loaded'; info: ModelInfo; tokenizerJson: unknown | null }
  | { type: 'load-error'; name: string; message: string; code?: string }
  | { type: 'backend'; backend: 'webgpu' | 'cpu'; description: string }
  | { type: 'step'; id: number; payload: StepPayload }
  | { type: 'forward-result'; id: number; logits: Float32Array; logitsShape: number[]; hooks: Record<string, HookValue>; position: number }
  | { type: 'stats-result'; id: number; stats: WorkerStats }
  | { type: 'trace-result'; id: number; payload: TracePayload }
  | { type: 'analyze-progress'; id: number; done: number; total: number }
  | { type: 'analyze-result'; id: number; result: RoutingAnalysis }
  | { type: 'inspect-result'; id: number; plan: LoadPlan }
  | { type: 'error'; id: number; name: string; message: string; code?: string };

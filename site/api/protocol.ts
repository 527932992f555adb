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
import type { ExpertsReport, DocumentShares } from '../../engine/analysis/experts.ts';
import type { LensLayer } from '../../engine/lens/logit-lens.ts';
import type { PatchResult, PatchWhat } from '../../engine/patch/patching.ts';
import type { WeightFormat } from '../../engine/footprint/formats.ts';
import type { QuantRoutingRow } from '../../engine/quant/quant-routing.ts';

/**
 * The format the engine keeps the weights in (engine/footprint/formats.ts): one chosen, or 'auto',
 * this device's default (f16 where it fits, else q8, else q4: device-plan.ts defaultWeightFormat).
 * Either is sized first and refused with the numbers when it does not fit. Absent: the engine's
 * own layout, unsized (float32 on the CPU; f16 or f32 on WebGPU).
 */
export type WeightChoice = WeightFormat | 'auto';

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
  /** With the `lens` option: the logit lens of the tokens fed, per layer. */
  lens?: LensLayer[];
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
  /** Compute the logit lens of every token as it is fed, with this many tokens per lens (default: no lens). */
  lens?: number;
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

export interface ExpertsRequestOptions {
  /** Tokens and contexts per expert (default 10). */
  top?: number;
  /** Least occurrences of a token for its lift to count (default 5). */
  minCount?: number;
  /** Read only the first this many tokens of each text (default: all of it). */
  maxTokens?: number;
}

export interface LensRequestOptions {
  /** Tokens per lens (default 5). */
  top?: number;
  /** Read each chosen expert's output too (default true). */
  experts?: boolean;
}

export interface PatchRequest {
  clean: string | number[];
  corrupt: string | number[];
  /** The answer: a text (its first token, without BOS) or a token id. */
  answer: string | number;
  wrong: string | number;
  what?: PatchWhat;
}

/** The expert report over texts: the CLI's `experts`, and each text's own shares. */
export type ExpertsResult = ExpertsReport & { documents: DocumentShares[] };

/** The lens of a text: the CLI's `lens` layers, with the tokens as views show them. */
export interface LensResult { tokens: TokenInfo[]; layers: LensLayer[] }

/** A patching run: the CLI's `patch`, with both texts' tokens and the two answer tokens. */
export type PatchOutcome = PatchResult & { what: PatchWhat; cleanTokens: TokenInfo[]; corruptTokens: TokenInfo[]; answer: { id: number; piece: string }; wrong: { id: number; piece: string } };

/**
 * A load runs beside the requests on the model in use (which it never disturbs), and is
 * cancelled by 'cancel-load' or by a newer 'load'. Its messages carry its id.
 */
export type ToWorker =
  | { type: 'load'; id: number; source: ModelSource; backend: 'auto' | 'cpu' | 'webgpu'; weights?: WeightChoice }
  | { type: 'cancel-load'; id: number }
  | { type: 'generate'; id: number; prompt: string | number[]; options: GenerateRequestOptions }
  | { type: 'forward'; id: number; input: string | number[]; options: ForwardRequestOptions }
  | { type: 'trace'; id: number; text: string | number[]; options: TraceRequestOptions }
  | { type: 'analyze'; id: number; text: string | number[]; options: AnalyzeRequestOptions }
  | { type: 'stats'; id: number }
  | { type: 'experts'; id: number; texts: (string | number[])[]; options: ExpertsRequestOptions }
  | { type: 'lens'; id: number; text: string | number[]; options: LensRequestOptions }
  | { type: 'patch'; id: number; request: PatchRequest }
  /** What each weight format does to routing on these texts (engine/quant/quant-routing.ts), against f16, on the CPU in the worker. */
  | { type: 'quant-routing'; id: number; texts: { name: string; ids: number[] }[]; formats: WeightFormat[] }
  /** Sizes a source and checks it against this engine before anything large is fetched (site/api/load-plan.ts). */
  | { type: 'inspect'; id: number; source: ModelSource; backend: 'auto' | 'cpu' | 'webgpu'; weights?: WeightChoice }
  | { type: 'stop'; id: number };

export type FromWorker =
  | { type: 'progress'; load: number; bytesDone: number; bytesTotal: number; file: string }
  | { type: 'loaded'; load: number; info: ModelInfo; tokenizerJson: unknown | null }
  /** `code`: a typed error's code (HubError's 'gated', 'not-found', ...), so the page can say what to do. */
  | { type: 'load-error'; load: number; name: string; message: string; code?: string }
  /** The load was cancelled (or replaced by a newer one): the model in use is unchanged. */
  | { type: 'load-cancelled'; load: number }
  /** The engine changed under the model (the GPU device was lost: the CPU engine carries on). */
  | { type: 'backend'; backend: 'webgpu' | 'cpu'; description: string }
  /** Generation `id` starts again from its prompt on another engine: forget its steps so far. */
  | { type: 'restart'; id: number; reason: string }
  | { type: 'step'; id: number; payload: StepPayload }
  | { type: 'forward-result'; id: number; logits: Float32Array; logitsShape: number[]; hooks: Record<string, HookValue>; position: number }
  | { type: 'stats-result'; id: number; stats: WorkerStats }
  | { type: 'trace-result'; id: number; payload: TracePayload }
  | { type: 'analyze-progress'; id: number; done: number; total: number }
  | { type: 'analyze-result'; id: number; result: RoutingAnalysis }
  | { type: 'request-progress'; id: number; done: number; total: number }
  | { type: 'experts-result'; id: number; result: ExpertsResult }
  | { type: 'lens-result'; id: number; result: LensResult }
  | { type: 'patch-result'; id: number; result: PatchOutcome }
  | { type: 'quant-routing-result'; id: number; rows: QuantRoutingRow[] }
  | { type: 'inspect-result'; id: number; plan: LoadPlan }
  | { type: 'error'; id: number; name: string; message: string; code?: string };

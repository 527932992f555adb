// The engine API notebook cells use (`mixscope` in a cell). The engine itself runs in a Web
// Worker; this is the main-thread surface. Everything returned is plain data (typed arrays,
// arrays, objects), shaped for viz/ views.
import type { WeightFormat } from '../../engine/footprint/formats.ts';
import type { MixtralConfig } from '../../engine/config.ts';
import type { Intervention } from '../../engine/hooks/interventions.ts';
import type { HookValue } from '../../engine/hooks/request.ts';
import type { Finish } from '../../engine/generate.ts';
import type { AttentionData, NextTokenData, RoutingData, TokenInfo } from '../../viz/types.ts';
import type { LensLayer } from '../../engine/lens/logit-lens.ts';

export interface ModelInfo {
  label: string;
  config: MixtralConfig;
  parameters: { total: number; activePerToken: number };
  backend: 'webgpu' | 'cpu';
  /** The WebGPU adapter's description, or "CPU" with the one-line reason WebGPU is not used. */
  backendDescription: string;
  /**
   * Why this engine: 'fastest' (the faster one here), 'slower' (a slower one, asked for in the
   * address or after the GPU was lost), 'asked' (the CPU engine, asked for), 'only' (no other).
   */
  backendChoice: 'fastest' | 'slower' | 'asked' | 'only';
  /** Every concrete hook name of this model, in forward order. */
  hookNames: string[];
  /** The format the weights were loaded in (null: the engine's own layout) and the bytes they hold (null: not measured). */
  weights: { format: WeightFormat | null; bytes: number | null };
}

export interface GenerateOptions {
  maxTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  interventions?: Intervention[];
  /** Extra hook names/patterns to return raw in each step (routing and attention are always collected). */
  hooks?: string[];
  /** Number of next-token candidates to report per step (default 10). */
  candidates?: number;
}

/** The state of a generation after each token: cumulative, so a cell can draw it as a whole. */
export interface GenerationState {
  /** Prompt tokens then generated tokens so far. */
  tokens: TokenInfo[];
  promptTokens: number;
  /** Generated text so far. */
  text: string;
  /** Number of tokens generated so far. */
  step: number;
  done: boolean;
  /** Why it ended: 'length', 'eos', 'context' (the model's window is full) or 'stopped'. */
  finish?: Finish;
  routing: RoutingData;
  /** Attention of a layer over all tokens so far (built on demand). */
  attention(layer: number): AttentionData;
  next: NextTokenData;
  /** Values of the extra `hooks` asked for, from the last step, as the engine gives them (`hook_expert_choice`: `indices` and `weights`). */
  hooks: Record<string, HookValue>;
  /** Tokens per second of this generation so far (decode only). */
  tokensPerSecond: number;
  /** With the `lens` option: the logit lens of every routed token so far (the lens view's data). */
  lens?: { tokens: TokenInfo[]; layers: LensLayer[] };
  /** The sampling seed (`mixscope.generate` draws one when none is given; it matters above temperature 0). */
  seed?: number;
}

/** Whole-text analysis: one forward over a text, with routing, attention and per-token loss. */
export interface Trace {
  tokens: TokenInfo[];
  routing: RoutingData;
  attention(layer: number): AttentionData;
  /** (T) cross-entropy of predicting token t+1 from 0..t (last entry NaN). */
  loss: Float32Array;
  meanLoss: number;
}

// The data every view draws: plain arrays, independent of where they were computed (CPU or
// WebGPU engine, in a worker or not). Producers (site/api) build these from hook values; views
// only read them. Shapes are row-major.

// Tokens and routing are the engine's own types (engine/generation/token-texts.ts,
// engine/routing/routing.ts): one shape from the hooks to the views.
export type { TokenInfo } from '../engine/generation/token-texts.ts';
export type { LayerRouting, RoutingData } from '../engine/routing/routing.ts';
import type { TokenInfo } from '../engine/generation/token-texts.ts';
import type { Candidate } from '../engine/generation/candidates.ts';

/** Attention probabilities of one layer: the input of the attention map view. */
export interface AttentionData {
  tokens: TokenInfo[];
  layer: number;
  /** Query heads H. */
  heads: number;
  /** Key/value heads; query head h reads key/value head floor(h / (heads / kvHeads)). */
  kvHeads: number;
  /** (H, T, T): row q holds the probabilities query token q gives to key tokens 0..T-1 (0 where masked). */
  pattern: Float32Array;
  /** The model's sliding window (null: none): keys older than q - window + 1 are masked. */
  slidingWindow: number | null;
  /**
   * Optional, for data that grows (a generation): head h's row for query q, the probabilities of
   * keys 0..q (a view, length q + 1). Views read rows through `attentionRow`, so a producer that
   * gives `row` need not build `pattern` unless someone reads it.
   */
  row?(h: number, q: number): Float32Array;
  /**
   * Optional: an identity shared by successive data of one growing sequence and layer, whose
   * earlier rows never change. Views then draw only the rows that are new.
   */
  sequence?: object;
}

/** The next-token distribution at one step: the input of the next-token view. */
export interface NextTokenData {
  /** The context position the prediction follows (the last token seen). */
  position: number;
  /** Best first. */
  candidates: Candidate[];
  /** The token actually chosen, if any. */
  chosen?: number;
}

/** What every view returns: a DOM node that redraws in place when given new data. */
export type ViewNode<D, O> = HTMLElement & {
  update(data: D, options?: Partial<O>): void;
  /** Current data as rows, for CSV/JSON export. */
  rows(): Record<string, string | number>[];
};

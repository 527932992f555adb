// The data every view draws: plain arrays, independent of where they were computed (CPU or
// WebGPU engine, in a worker or not). Producers (site/api) build these from hook values; views
// only read them. Shapes are row-major.

/** One token of the text being analysed or generated. */
export interface TokenInfo {
  /** Token id in the model's vocabulary. */
  id: number;
  /** The token's text as the reader should see it (decoded, may be "" for a partial character). */
  text: string;
  /** The vocabulary piece (e.g. "▁the", "<0x0A>"), for tooltips. */
  piece: string;
  /** Absolute position in the sequence (0-based). */
  position: number;
  /** True for tokens the model generated, false for the prompt. */
  generated: boolean;
}

/** Routing of every token through one MoE layer. */
export interface LayerRouting {
  /** (T, K) chosen experts per token, best first. */
  indices: Int32Array;
  /** (T, K) renormalised weights of the chosen experts. */
  weights: Float32Array;
  /** (T, E) softmax of the router logits over all experts. */
  probs: Float32Array;
}

/** Routing of a token sequence through every layer: the input of token strip, router, load and paths views. */
export interface RoutingData {
  tokens: TokenInfo[];
  /** num_local_experts */
  experts: number;
  /** num_experts_per_tok */
  topK: number;
  /** One entry per layer, each covering all `tokens`. */
  layers: LayerRouting[];
}

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
}

/** The next-token distribution at one step: the input of the next-token view. */
export interface NextTokenData {
  /** The context position the prediction follows (the last token seen). */
  position: number;
  /** Best first. */
  candidates: { id: number; text: string; piece: string; prob: number }[];
  /** The token actually chosen, if any. */
  chosen?: number;
}

/** What every view returns: a DOM node that redraws in place when given new data. */
export type ViewNode<D, O> = HTMLElement & {
  update(data: D, options?: Partial<O>): void;
  /** Current data as rows, for CSV/JSON export. */
  rows(): Record<string, string | number>[];
};

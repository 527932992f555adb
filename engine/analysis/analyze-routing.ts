// The routing analysis of the Mixtral paper's section 5 over one text, as the CLI's `analyze`
// prints it and the site's `mixscope.analyze` returns it: one implementation for both.
import type { Engine } from '../engine.ts';
import { routeLongText } from './long-text-routing.ts';
import { layerRoutingStats, randomRepeatRates } from './routing-stats.ts';
import { coactivation, marginStats, transition } from './routing-structure.ts';

/** One layer of the analysis. */
export interface LayerAnalysis {
  first_share: number[];
  topk_share: number[];
  repeat_first: number;
  repeat_topk: number;
  /** (E, E) shares of tokens whose top-k set holds both experts (the diagonal: holds the expert). */
  coactivation: number[][];
  /** (E, E) P(first choice f at the next layer | first choice e here); absent on the last layer. */
  transition?: number[][];
  /** Mean over tokens of the K-th largest router probability minus the (K+1)-th. */
  margin: number;
  /** Share of tokens whose margin is below 0.05. */
  fragile_share: number;
}

export interface RoutingAnalysis {
  tokens: number;
  experts: number;
  top_k: number;
  /** Forward windows the text was cut into (it may be longer than the model reads at once). */
  windows: number;
  /** What uniformly random routing gives for the two repetition rates. */
  random: { repeat_first: number; repeat_topk: number };
  /**
   * Shares and rates as layerRoutingStats defines them (shares sum to 1 over experts), and the
   * routing structure of routing-structure.ts.
   */
  layers: LayerAnalysis[];
}

export async function analyzeRouting(engine: Engine, ids: readonly number[], onWindow?: (done: number, total: number) => void, signal?: AbortSignal): Promise<RoutingAnalysis> {
  if (ids.length < 2) throw new RangeError('the routing analysis needs a text of at least two tokens');
  const c = engine.config;
  const E = c.num_local_experts, K = c.num_experts_per_tok;
  const { layers, windows } = await routeLongText(engine, ids, { onWindow, signal });
  return {
    tokens: ids.length,
    experts: c.num_local_experts,
    top_k: c.num_experts_per_tok,
    windows,
    random: randomRepeatRates(c.num_local_experts, c.num_experts_per_tok),
    layers: layers.map((L, l) => {
      const { first_share, topk_share, repeat_first, repeat_topk } = layerRoutingStats(L.indices, K, E);
      const next = layers[l + 1];
      return {
        first_share, topk_share, repeat_first, repeat_topk,
        coactivation: coactivation(L.indices, K, E),
        ...(next ? { transition: transition(L.indices, next.indices, K, E) } : {}),
        ...marginStats(L.probs, K, E),
      };
    }),
  };
}

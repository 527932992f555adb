// The routing analysis of the Mixtral paper's section 5 over one text, as the CLI's `analyze`
// prints it and the site's `mixscope.analyze` returns it: one implementation for both.
import type { Engine } from '../engine.ts';
import { routeLongText } from './long-text-routing.ts';
import { layerRoutingStats, randomRepeatRates } from './routing-stats.ts';

export interface RoutingAnalysis {
  tokens: number;
  experts: number;
  top_k: number;
  /** Forward windows the text was cut into (it may be longer than the model reads at once). */
  windows: number;
  /** What uniformly random routing gives for the two repetition rates. */
  random: { repeat_first: number; repeat_topk: number };
  /** Shares and rates as layerRoutingStats defines them (shares sum to 1 over experts); null for a dense layer. */
  layers: ({ first_share: number[]; topk_share: number[]; repeat_first: number; repeat_topk: number } | null)[];
}

export async function analyzeRouting(engine: Engine, ids: readonly number[], onWindow?: (done: number, total: number) => void): Promise<RoutingAnalysis> {
  if (ids.length < 2) throw new RangeError('the routing analysis needs a text of at least two tokens');
  const c = engine.config;
  const { layers, windows } = await routeLongText(engine, ids, { onWindow });
  return {
    tokens: ids.length,
    experts: c.num_local_experts,
    top_k: c.num_experts_per_tok,
    windows,
    random: randomRepeatRates(c.num_local_experts, c.num_experts_per_tok),
    layers: layers.map((L) => {
      if (L.dense) return null;
      const { first_share, topk_share, repeat_first, repeat_topk } = layerRoutingStats(L.indices, c.num_experts_per_tok, c.num_local_experts);
      return { first_share, topk_share, repeat_first, repeat_topk };
    }),
  };
}

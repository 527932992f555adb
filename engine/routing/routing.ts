// Routing, the one shape every consumer reads (the CLI, the analyses, the site's worker, the views,
// the notebooks): per layer, each token's chosen experts, their weights and the router's
// probabilities, taken from a forward's hooks by one function.
//
// Letters: T tokens, E experts (num_local_experts), K experts per token (num_experts_per_tok).
import type { MixtralConfig } from '../config.ts';
import { isMoeLayer, type FamilyTraits } from '../family.ts';
import type { ExpertChoice, HookTensor, HookValue } from '../hooks/request.ts';
import type { TokenInfo } from '../generation/token-texts.ts';

/** Routing of T tokens through one MoE layer. */
export interface LayerRouting {
  /** (T, K) chosen experts per token, best first. */
  indices: Int32Array;
  /** (T, K) renormalised weights of the chosen experts. */
  weights: Float32Array;
  /** (T, E) softmax of the router logits over all experts (ablated experts 0). */
  probs: Float32Array;
  /** (T, E) gate logits after any router bias; only when asked for (`logits: true`). */
  logits?: Float32Array;
  /**
   * A dense MLP layer (qwen's mlp_only_layers / decoder_sparse_step): no router, so every array
   * is empty. Absent for a sparse layer.
   */
  dense?: true;
}

/** The routing entry of a dense layer: nothing was routed. */
export function denseLayerRouting(): LayerRouting {
  return { indices: new Int32Array(0), weights: new Float32Array(0), probs: new Float32Array(0), dense: true };
}

/** Routing of a token sequence through every layer: what the routing views draw. */
export interface RoutingData {
  tokens: TokenInfo[];
  /** E: num_local_experts. */
  experts: number;
  /** K: num_experts_per_tok. */
  topK: number;
  /** One entry per layer, each covering all `tokens`. */
  layers: LayerRouting[];
}

/** The hook names a forward must observe for `layerRouting` (patterns over every layer). */
export function routingHooks({ logits = false } = {}): string[] {
  const names = ['blocks.*.moe.hook_expert_choice', 'blocks.*.moe.hook_router_probs'];
  if (logits) names.push('blocks.*.moe.hook_router_logits');
  return names;
}

/**
 * The routing of every layer from a forward's observed hooks (asked for with `routingHooks`).
 * The arrays are the hook values themselves, not copies.
 */
export function layerRouting(config: Pick<MixtralConfig, 'num_hidden_layers'> & { family?: FamilyTraits }, hooks: ReadonlyMap<string, HookValue>, { logits = false } = {}): LayerRouting[] {
  const out: LayerRouting[] = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    if (!isMoeLayer(config.family, l)) { out.push(denseLayerRouting()); continue; }
    const choice = hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice | undefined;
    const probs = hooks.get(`blocks.${l}.moe.hook_router_probs`) as HookTensor | undefined;
    if (!choice || !probs) throw new Error(`the forward did not observe the routing of layer ${l} (observe routingHooks())`);
    const layer: LayerRouting = { indices: choice.indices, weights: choice.weights, probs: probs.data };
    if (logits) {
      const g = hooks.get(`blocks.${l}.moe.hook_router_logits`) as HookTensor | undefined;
      if (!g) throw new Error(`the forward did not observe the router logits of layer ${l} (observe routingHooks({ logits: true }))`);
      layer.logits = g.data;
    }
    out.push(layer);
  }
  return out;
}

/** Rows [from, to) of every layer (views into the same arrays, not copies). */
export function sliceRouting(layers: readonly LayerRouting[], K: number, E: number, from: number, to: number): LayerRouting[] {
  return layers.map((L) => {
    if (L.dense) return L;
    const r: LayerRouting = { indices: L.indices.subarray(from * K, to * K), weights: L.weights.subarray(from * K, to * K), probs: L.probs.subarray(from * E, to * E) };
    if (L.logits) r.logits = L.logits.subarray(from * E, to * E);
    return r;
  });
}

// Every hook point the engines expose, with the shape of the tensor it carries.
// One table, so that documentation, pattern matching and tests all read the same source.
//
// Dimension letters: T tokens in this call, S positions the call attends to (cache + T),
// D hidden, Dh head_dim, H query heads, Hkv key/value heads, E experts, K experts per token,
// V vocab.
// Names follow TransformerLens: the layer second, leaves prefixed `hook_`.
import type { MixtralConfig } from '../config.ts';
import { isMoeLayer, type FamilyTraits } from '../family.ts';

export type Dim = 'T' | 'S' | 'D' | 'Dh' | 'H' | 'Hkv' | 'E' | 'K' | 'V';

export interface HookPointSpec {
  /** Name with `{l}` standing for the layer index. */
  template: string;
  dims: Dim[];
  description: string;
  /**
   * Layers that have it, where not every layer does: sparse (MoE) layers only, families with q/k
   * norms, families with a shared expert (docs/families.md, "Hooks across families").
   */
  only?: 'sparse' | 'qk_norm' | 'shared_expert';
}

export const HOOK_POINTS: readonly HookPointSpec[] = [
  { template: 'hook_embed', dims: ['T', 'D'], description: 'token embeddings, the residual stream entering layer 0' },
  { template: 'blocks.{l}.hook_resid_pre', dims: ['T', 'D'], description: 'residual stream entering the layer' },
  { template: 'blocks.{l}.attn.hook_q_normed', dims: ['T', 'H', 'Dh'], description: 'queries after the q norm (OLMoE: over the whole projection, then its clip_qkv clamp; Qwen3-MoE: per head), before rotary embedding', only: 'qk_norm' },
  { template: 'blocks.{l}.attn.hook_k_normed', dims: ['T', 'Hkv', 'Dh'], description: 'keys after the k norm (and clamp), before rotary embedding', only: 'qk_norm' },
  { template: 'blocks.{l}.attn.hook_q', dims: ['T', 'H', 'Dh'], description: 'queries after rotary embedding (and after the q norm, in families that have one)' },
  { template: 'blocks.{l}.attn.hook_k', dims: ['T', 'Hkv', 'Dh'], description: 'keys of this call after rotary embedding, one per key/value head' },
  { template: 'blocks.{l}.attn.hook_v', dims: ['T', 'Hkv', 'Dh'], description: 'values of this call, one per key/value head' },
  { template: 'blocks.{l}.attn.hook_pattern', dims: ['H', 'T', 'S'], description: 'attention probabilities after softmax, per query head; masked keys are 0' },
  { template: 'blocks.{l}.attn.hook_z', dims: ['T', 'H', 'Dh'], description: 'per-head attention output before o_proj (zero_head acts here)' },
  { template: 'blocks.{l}.hook_attn_out', dims: ['T', 'D'], description: 'attention block output (after o_proj)' },
  { template: 'blocks.{l}.hook_resid_mid', dims: ['T', 'D'], description: 'residual stream after attention, entering the MoE block' },
  { template: 'blocks.{l}.moe.hook_router_logits', dims: ['T', 'E'], description: 'gate logits (after any router bias), before softmax', only: 'sparse' },
  { template: 'blocks.{l}.moe.hook_router_probs', dims: ['T', 'E'], description: 'softmax of the router logits over all experts (ablated experts get 0)', only: 'sparse' },
  { template: 'blocks.{l}.moe.hook_expert_choice', dims: ['T', 'K'], description: 'chosen experts (indices, best first) and the weights applied: renormalised, or the plain probabilities where norm_topk_prob is false', only: 'sparse' },
  { template: 'blocks.{l}.moe.hook_expert_out', dims: ['T', 'K', 'D'], description: 'output of each chosen expert, before weighting, in choice order', only: 'sparse' },
  { template: 'blocks.{l}.moe.hook_shared_out', dims: ['T', 'D'], description: "the shared expert's output, before its gate (Qwen2-MoE)", only: 'shared_expert' },
  { template: 'blocks.{l}.moe.hook_shared_gate', dims: ['T'], description: "sigmoid(shared_expert_gate · x), the shared expert's weight per token (zero it to remove the shared expert)", only: 'shared_expert' },
  { template: 'blocks.{l}.hook_mlp_out', dims: ['T', 'D'], description: 'MoE block output: the weighted sum of the chosen experts (+ the gated shared expert; a dense layer: its MLP), times Granite\'s residual_multiplier' },
  { template: 'blocks.{l}.hook_resid_post', dims: ['T', 'D'], description: 'residual stream leaving the layer' },
  { template: 'ln_final.hook_normalized', dims: ['T', 'D'], description: 'final RMSNorm output' },
  { template: 'hook_logits', dims: ['T', 'V'], description: 'logits over the vocabulary' },
];

/** Whether layer l of a model has the hook point `p` (a config without family traits is Mixtral's). */
export function hookExists(p: HookPointSpec, config: { family?: FamilyTraits }, l: number): boolean {
  const f = config.family;
  if (p.only === 'sparse') return isMoeLayer(f, l);
  if (p.only === 'qk_norm') return f !== undefined && f.qk_norm !== 'none';
  if (p.only === 'shared_expert') return f !== undefined && f.shared_expert_intermediate_size !== null && isMoeLayer(f, l);
  return true;
}

/** All concrete hook names for a model, in forward order. */
export function hookNames(config: Pick<MixtralConfig, 'num_hidden_layers'> & { family?: FamilyTraits }): string[] {
  const names: string[] = ['hook_embed'];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    for (const p of HOOK_POINTS) {
      if (p.template.includes('{l}') && hookExists(p, config, l)) names.push(p.template.replace('{l}', String(l)));
    }
  }
  names.push('ln_final.hook_normalized', 'hook_logits');
  return names;
}

/** The spec of a concrete hook name, or undefined if the name is not a hook point. */
export function hookSpec(name: string): HookPointSpec | undefined {
  const template = name.replace(/^blocks\.\d+\./, 'blocks.{l}.');
  return HOOK_POINTS.find((p) => p.template === template);
}

/** Concrete shape of a hook for a call with T new tokens attending to S positions. */
export function hookShape(name: string, config: MixtralConfig, T: number, S: number): number[] {
  const spec = hookSpec(name);
  if (!spec) throw new Error(`unknown hook point "${name}"`);
  const size: Record<Dim, number> = {
    T, S,
    D: config.hidden_size,
    Dh: config.head_dim,
    H: config.num_attention_heads,
    Hkv: config.num_key_value_heads,
    E: config.num_local_experts,
    K: config.num_experts_per_tok,
    V: config.vocab_size,
  };
  return spec.dims.map((d) => size[d]);
}

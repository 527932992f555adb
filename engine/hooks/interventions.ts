// Interventions as plain data, so that every backend (CPU here, WebGPU later) can apply the
// same ones. A function hook is the escape hatch for anything the data kinds cannot say.
import type { MixtralConfig } from '../config.ts';
import { RequestError } from '../errors.ts';
import { isMoeLayer } from '../family.ts';

/** Never route to these experts in a layer: top-k is taken among the rest. */
export interface AblateExperts { kind: 'ablate_experts'; layer: number; experts: number[] }
/**
 * Send tokens to these experts in a layer instead of the router's choice. `positions` are absolute
 * token positions (all tokens when omitted). Weights default to the router's softmax
 * probabilities of the forced experts, renormalised to sum to 1 where the family renormalises
 * its top-k (Mixtral, Granite, norm_topk_prob: true), else the probabilities themselves. A
 * shared expert and dense layers are not affected.
 */
export interface ForceExperts { kind: 'force_experts'; layer: number; experts: number[]; weights?: number[]; positions?: number[] }
/** Add a bias (one value per expert) to the router logits of a layer, before softmax. */
export interface RouterBias { kind: 'router_bias'; layer: number; bias: number[] }
/** Zero one query head's attention output (hook_z) in a layer, before o_proj. */
export interface ZeroHead { kind: 'zero_head'; layer: number; head: number }

/** The (T, D) hook points an activation patch can replace a row of. */
export const PATCHABLE_HOOKS = ['hook_resid_pre', 'hook_attn_out', 'hook_resid_mid', 'hook_mlp_out', 'hook_resid_post'] as const;
export type PatchableHook = (typeof PATCHABLE_HOOKS)[number];

/**
 * Activation patching: the value of hook `blocks.{layer}.{hook}` at absolute token `position` is
 * replaced by `values` (D floats, e.g. the same hook's row in another run) before it flows on.
 * Function hooks and observation at that point see the patched value. A position outside the
 * call is left alone (a later call of the session may hold it).
 */
export interface PatchActivation { kind: 'patch_activation'; layer: number; hook: PatchableHook; position: number; values: ArrayLike<number> }

export type Intervention = AblateExperts | ForceExperts | RouterBias | ZeroHead | PatchActivation;

function checkLayer(c: MixtralConfig, layer: number, kind: string): void {
  if (!Number.isInteger(layer) || layer < 0 || layer >= c.num_hidden_layers) {
    throw new RequestError(`${kind}: layer ${layer} is out of range 0..${c.num_hidden_layers - 1}`);
  }
}

function checkExpert(c: MixtralConfig, e: number, kind: string): void {
  if (!Number.isInteger(e) || e < 0 || e >= c.num_local_experts) {
    throw new RequestError(`${kind}: expert ${e} is out of range 0..${c.num_local_experts - 1}`);
  }
}

/** Check interventions against a model; throws a RequestError naming what is wrong. */
export function validateInterventions(c: MixtralConfig, list: readonly Intervention[]): void {
  const ablatedPerLayer = new Map<number, Set<number>>();
  for (const iv of list) {
    checkLayer(c, iv.layer, iv.kind);
    // Heads and the (T, D) hook points exist in every layer; routing only where there is a router.
    if (iv.kind !== 'zero_head' && iv.kind !== 'patch_activation' && !isMoeLayer(c.family, iv.layer)) {
      throw new RequestError(`${iv.kind}: layer ${iv.layer} is a dense MLP layer, with no router or experts`);
    }
    switch (iv.kind) {
      case 'ablate_experts': {
        const set = ablatedPerLayer.get(iv.layer) ?? new Set<number>();
        for (const e of iv.experts) { checkExpert(c, e, iv.kind); set.add(e); }
        ablatedPerLayer.set(iv.layer, set);
        if (c.num_local_experts - set.size < c.num_experts_per_tok) {
          throw new RequestError(`ablate_experts: layer ${iv.layer} would keep ${c.num_local_experts - set.size} experts, fewer than num_experts_per_tok (${c.num_experts_per_tok})`);
        }
        break;
      }
      case 'force_experts':
        if (iv.experts.length !== c.num_experts_per_tok) {
          throw new RequestError(`force_experts: give exactly ${c.num_experts_per_tok} experts, got ${iv.experts.length}`);
        }
        if (new Set(iv.experts).size !== iv.experts.length) throw new RequestError('force_experts: experts must be distinct');
        for (const e of iv.experts) checkExpert(c, e, iv.kind);
        if (iv.weights && (iv.weights.length !== iv.experts.length || iv.weights.some((w) => !Number.isFinite(w)))) {
          throw new RequestError('force_experts: weights must be finite numbers, one per expert');
        }
        break;
      case 'router_bias':
        if (iv.bias.length !== c.num_local_experts || iv.bias.some((b) => !Number.isFinite(b))) {
          throw new RequestError(`router_bias: bias must hold ${c.num_local_experts} finite numbers`);
        }
        break;
      case 'zero_head':
        if (!Number.isInteger(iv.head) || iv.head < 0 || iv.head >= c.num_attention_heads) {
          throw new RequestError(`zero_head: head ${iv.head} is out of range 0..${c.num_attention_heads - 1}`);
        }
        break;
      case 'patch_activation':
        if (!(PATCHABLE_HOOKS as readonly string[]).includes(iv.hook)) {
          throw new RequestError(`patch_activation: hook "${String(iv.hook).slice(0, 40)}" cannot be patched; use one of ${PATCHABLE_HOOKS.join(', ')}`);
        }
        if (!Number.isInteger(iv.position) || iv.position < 0 || iv.position >= c.max_position_embeddings) {
          throw new RequestError(`patch_activation: position ${iv.position} is out of range 0..${c.max_position_embeddings - 1}`);
        }
        if (!iv.values || iv.values.length !== c.hidden_size) {
          throw new RequestError(`patch_activation: values must hold hidden_size (${c.hidden_size}) numbers, got ${iv.values?.length ?? 'none'}`);
        }
        for (let i = 0; i < iv.values.length; i++) {
          if (!Number.isFinite(iv.values[i])) throw new RequestError(`patch_activation: values[${i}] is not a finite number`);
        }
        break;
      default:
        throw new RequestError(`unknown intervention kind "${(iv as { kind: string }).kind}"`);
    }
  }
}

/** Interventions of one layer, gathered into the form the forward pass applies directly. */
export interface LayerInterventions {
  ablated: Set<number>;
  bias: Float32Array | null;           // (E) summed router biases
  force: ForceExperts[];
  zeroHeads: Set<number>;
  /** Activation patches of this layer, by hook leaf (e.g. 'hook_resid_pre'), in the order given. */
  patches: Map<PatchableHook, PatchActivation[]>;
}

export function interventionsForLayer(c: MixtralConfig, list: readonly Intervention[], layer: number): LayerInterventions {
  const out: LayerInterventions = { ablated: new Set(), bias: null, force: [], zeroHeads: new Set(), patches: new Map() };
  for (const iv of list) {
    if (iv.layer !== layer) continue;
    if (iv.kind === 'ablate_experts') iv.experts.forEach((e) => out.ablated.add(e));
    else if (iv.kind === 'router_bias') {
      out.bias ??= new Float32Array(c.num_local_experts);
      for (let e = 0; e < c.num_local_experts; e++) out.bias[e] += iv.bias[e];
    } else if (iv.kind === 'force_experts') out.force.push(iv);
    else if (iv.kind === 'zero_head') out.zeroHeads.add(iv.head);
    else if (iv.kind === 'patch_activation') out.patches.set(iv.hook, [...(out.patches.get(iv.hook) ?? []), iv]);
  }
  return out;
}

/**
 * Replace rows of a (T, D) hook value in place by the patches at `hook` whose positions fall in
 * this call (tokens at absolute positions pos0 .. pos0 + T - 1); later patches of a row win.
 */
export function applyPatches(x: Float32Array, patches: readonly PatchActivation[] | undefined, pos0: number, T: number, D: number): void {
  for (const p of patches ?? []) {
    const t = p.position - pos0;
    if (t >= 0 && t < T) x.set(p.values, t * D);
  }
}

// The logit lens, for a Mixture of Experts: read the residual stream after every layer as if it
// were the last, softmax(lm_head(final_norm(resid_post[l][t]))), and read each chosen expert's own
// output the same way, lm_head(final_norm(expert_out[l][t][k])) (before its routing weight): what
// this expert writes here. Computed on the CPU side from hook values, with the CPU engine's own
// RMSNorm and matrix product, so both engines' lenses are the same function of their hooks and the
// last layer's lens is the model's output.
//
// Letters: T tokens, D hidden, V vocabulary, K experts per token, L layers.
import type { MixtralConfig } from '../config.ts';
import type { MixtralWeights } from '../weights.ts';
import type { Engine } from '../engine.ts';
import type { MixscopeTokenizer } from '../tokenizer.ts';
import type { ExpertChoice, HookTensor, HookValue } from '../hooks/request.ts';
import { matmul, rmsnorm } from '../cpu/ops.ts';
import { isMoeLayer } from '../family.ts';
import { rowOf, type WeightMatrix } from '../cpu/stored-weights.ts';

/**
 * What the lens reads through: the final RMSNorm and lm_head (the model's own weights), and what
 * the logits are multiplied by (Granite divides them by logits_scaling; 1 elsewhere).
 */
export interface LensHead { norm: Float32Array; lm_head: Float32Array; eps: number; D: number; V: number; scale: number }

/**
 * The lens's head from a model's weights; an lm_head kept at stored width or quantized is decoded
 * to float32 once (the values the engine's own lm_head product reads).
 */
/** The weights the lens reads: the final norm and lm_head (any matrix format: rows are read as float32). */
export type LensHeadWeights = Pick<MixtralWeights, 'norm'> & { lm_head: WeightMatrix };

export function lensHead(c: MixtralConfig, w: LensHeadWeights): LensHead {
  const D = c.hidden_size, V = c.vocab_size;
  let lm = w.lm_head;
  if (!(lm instanceof Float32Array)) {
    const out = new Float32Array(V * D);
    for (let v = 0; v < V; v++) rowOf(lm, v, D, out.subarray(v * D, (v + 1) * D));
    lm = out;
  }
  return { norm: w.norm, lm_head: lm, eps: c.rms_norm_eps, D, V, scale: 1 / (c.family?.logits_scaling ?? 1) };
}

export interface LensToken { id: number; piece: string; prob: number }
export interface LensLogit { id: number; piece: string; logit: number }
export interface ExpertLens { expert: number; weight: number; top: LensLogit[] }
/** One layer: per position, the residual's top tokens and each chosen expert's (none in a dense layer). */
export interface LensLayer { resid: LensToken[][]; experts: ExpertLens[][] }
/** The CLI's `lens` output: `tokens` are the vocabulary pieces of the text. */
export interface LogitLens { tokens: string[]; layers: LensLayer[] }

/** The hooks a forward must observe for `lensFromHooks` (every layer). */
export const LENS_HOOKS = ['blocks.*.hook_resid_post', 'blocks.*.moe.hook_expert_out', 'blocks.*.moe.hook_expert_choice'];

/** Ids of the `n` largest values of row[0..V), largest first, ties to the lower id. */
export function topIds(row: ArrayLike<number>, n: number): number[] {
  const best: number[] = [];
  for (let v = 0; v < row.length; v++) {
    const x = row[v];
    if (best.length === n && !(x > row[best[n - 1]])) continue;
    let i = best.length === n ? n - 1 : best.length;
    if (best.length < n) best.push(v);
    while (i > 0 && x > row[best[i - 1]]) { best[i] = best[i - 1]; i--; }
    best[i] = v;
  }
  return best;
}

/** lm_head(final_norm(x)) for `rows` rows of x (rows, D): logits (rows, V). */
export function lensLogits(head: LensHead, x: Float32Array, rows: number): Float32Array {
  const xn = new Float32Array(rows * head.D);
  rmsnorm(xn, x, head.norm, rows, head.D, head.eps);
  const logits = new Float32Array(rows * head.V);
  matmul(logits, xn, head.lm_head, rows, head.D, head.V);
  if (head.scale !== 1) for (let i = 0; i < logits.length; i++) logits[i] *= head.scale;
  return logits;
}

/** The top `n` tokens of softmax(row), with their probabilities (float64 softmax, max subtracted). */
function topProbs(row: Float32Array, n: number, piece: (id: number) => string): LensToken[] {
  let max = -Infinity;
  for (const x of row) if (x > max) max = x;
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  return topIds(row, n).map((id) => ({ id, piece: piece(id), prob: Math.exp(row[id] - max) / sum }));
}

export interface LensOptions {
  /** Tokens per lens (default 5). */
  top?: number;
  /** Read the experts' outputs too (default true). */
  experts?: boolean;
  /** A token's piece (default: its id as text). */
  piece?: (id: number) => string;
}

/**
 * The lens of every layer for the T tokens of one forward, from its observed hooks (LENS_HOOKS;
 * with `experts: false`, resid_post alone).
 */
export function lensFromHooks(c: MixtralConfig, head: LensHead, hooks: ReadonlyMap<string, HookValue>, o: LensOptions = {}): LensLayer[] {
  const top = o.top ?? 5, piece = o.piece ?? String, V = c.vocab_size, K = c.num_experts_per_tok;
  if (!Number.isInteger(top) || top < 1 || top > V) throw new RangeError(`top must be an integer in 1..${V}, got ${top}`);
  const get = <T extends HookValue>(name: string): T => {
    const v = hooks.get(name);
    if (!v) throw new Error(`the forward did not observe ${name} (observe LENS_HOOKS)`);
    return v as T;
  };
  return Array.from({ length: c.num_hidden_layers }, (_, l) => {
    const resid = get<HookTensor>(`blocks.${l}.hook_resid_post`);
    const T = resid.shape[0];
    const logits = lensLogits(head, resid.data, T);
    const layer: LensLayer = { resid: Array.from({ length: T }, (_, t) => topProbs(logits.subarray(t * V, (t + 1) * V), top, piece)), experts: [] };
    // A dense layer (no router) has no chosen experts to read.
    if (o.experts === false || !isMoeLayer(c.family, l)) { layer.experts = Array.from({ length: T }, () => []); return layer; }
    const choice = get<ExpertChoice>(`blocks.${l}.moe.hook_expert_choice`);
    const out = get<HookTensor>(`blocks.${l}.moe.hook_expert_out`);
    const el = lensLogits(head, out.data, T * K);
    layer.experts = Array.from({ length: T }, (_, t) => Array.from({ length: K }, (_, k) => {
      const row = el.subarray((t * K + k) * V, (t * K + k + 1) * V);
      return { expert: choice.indices[t * K + k], weight: choice.weights[t * K + k], top: topIds(row, top).map((id) => ({ id, piece: piece(id), logit: row[id] })) };
    }));
    return layer;
  });
}

/** The lens of a text that fits the model's window, in one forward. */
export async function logitLens(engine: Engine, head: LensHead, ids: readonly number[], o: LensOptions & { tokenizer?: MixscopeTokenizer | null } = {}): Promise<LogitLens> {
  const piece = o.piece ?? ((id: number) => o.tokenizer?.idToToken(id) ?? String(id));
  const experts = o.experts ?? true;
  const r = await engine.forward(ids, { hooks: experts ? LENS_HOOKS : ['blocks.*.hook_resid_post'], output: 'argmax' });
  return { tokens: ids.map(piece), layers: lensFromHooks(engine.config, head, r.hooks, { ...o, piece }) };
}

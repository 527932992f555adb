// Patching: which activations, and which routing decisions, carry the difference between a clean
// and a corrupted text? For every layer l and position t the corrupted text is run again with one
// thing taken from the clean run at (l, t), and the answer's logit difference is measured:
//
//   diff(run) = logit[answer] - logit[wrong] at the last position
//   effect[l][t] = (diff(patched) - diff(corrupt)) / (diff(clean) - diff(corrupt))
//
// 1 means the patch restores the clean answer completely, 0 that it changes nothing.
// - an activation ('resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post'): the clean run's
//   row of hook blocks.{l}.hook_{what} replaces the corrupted one (a patch_activation intervention);
// - 'routing': at (l, t) the corrupted run uses the clean run's chosen experts with their clean
//   weights (force_experts at that position with explicit weights); the experts' outputs are
//   computed from the corrupted run's own hidden state, so only the routing decision is moved. A
//   dense layer (qwen's mlp_only_layers) makes no routing decision: its effect is 0, with no run.
//
// Both are data interventions, so they cross a worker boundary and run on either engine. A patch
// at position t changes nothing before t (attention is causal), so the corrupted prefix 0..t-1 is
// read once into a session's KV cache and each layer's patched run feeds only tokens t.. after it.
import type { Engine } from '../engine.ts';
import type { ExpertChoice, HookTensor } from '../hooks/request.ts';
import { PATCHABLE_HOOKS, type Intervention, type PatchableHook } from '../hooks/interventions.ts';
import { RequestError } from '../errors.ts';
import { isMoeLayer } from '../family.ts';

export type PatchWhat = 'resid_pre' | 'attn_out' | 'resid_mid' | 'mlp_out' | 'resid_post' | 'routing';
export const PATCH_WHATS: readonly PatchWhat[] = ['resid_pre', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post', 'routing'];

/** The CLI's `patch` output: `tokens` are the clean text's pieces; effect is (layer, position). */
export interface PatchResult { tokens: string[]; clean_diff: number; corrupt_diff: number; effect: number[][] }

export interface PatchOptions {
  what?: PatchWhat;
  piece?: (id: number) => string;
  signal?: AbortSignal;
  /** Patched runs done so far, of layers x positions. */
  onProgress?: (done: number, total: number) => void;
}

const diffOf = (logits: Float32Array, answer: number, wrong: number) => logits[answer] - logits[wrong];

export async function patchEffects(engine: Engine, clean: readonly number[], corrupt: readonly number[], answer: number, wrong: number, o: PatchOptions = {}): Promise<PatchResult> {
  const c = engine.config;
  const what = o.what ?? 'resid_pre';
  if (!PATCH_WHATS.includes(what)) throw new RequestError(`patch: what must be one of ${PATCH_WHATS.join(', ')}, got "${String(what).slice(0, 40)}"`);
  if (clean.length !== corrupt.length) {
    throw new RequestError(`patch: the clean and corrupted texts must have the same number of tokens; they have ${clean.length} and ${corrupt.length}`);
  }
  for (const [name, id] of [['answer', answer], ['wrong', wrong]] as const) {
    if (!Number.isInteger(id) || id < 0 || id >= c.vocab_size) throw new RequestError(`patch: the ${name} token ${id} is outside the vocabulary 0..${c.vocab_size - 1}`);
  }
  if (answer === wrong) throw new RequestError('patch: the answer and the wrong token are the same token');
  const L = c.num_hidden_layers, T = clean.length, K = c.num_experts_per_tok;
  const hook: PatchableHook | null = what === 'routing' ? null : (`hook_${what}` as PatchableHook);
  if (hook && !PATCHABLE_HOOKS.includes(hook)) throw new RequestError(`patch: ${hook} cannot be patched`);

  // ---- the clean run (its activations or routing at every layer) and the corrupted run
  const cleanRun = await engine.forward(clean, { hooks: [hook ? `blocks.*.${hook}` : 'blocks.*.moe.hook_expert_choice'], output: 'last' });
  const corruptRun = await engine.forward(corrupt, { output: 'last' });
  const clean_diff = diffOf(cleanRun.logits, answer, wrong);
  const corrupt_diff = diffOf(corruptRun.logits, answer, wrong);
  if (clean_diff === corrupt_diff) {
    throw new RequestError(`patch: the clean and corrupted runs give the same logit difference (${clean_diff}), so no patch can be measured against it`);
  }
  const patchAt = (l: number, t: number): Intervention => {
    if (hook) {
      const v = cleanRun.hooks.get(`blocks.${l}.${hook}`) as HookTensor;
      const D = c.hidden_size;
      return { kind: 'patch_activation', layer: l, hook, position: t, values: Array.from(v.data.subarray(t * D, (t + 1) * D)) };
    }
    const ch = cleanRun.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice;
    return {
      kind: 'force_experts', layer: l, positions: [t],
      experts: Array.from(ch.indices.subarray(t * K, (t + 1) * K)), weights: Array.from(ch.weights.subarray(t * K, (t + 1) * K)),
    };
  };

  // ---- every (l, t): the corrupted prefix 0..t-1 stays in the session's cache
  const effect = Array.from({ length: L }, () => new Array<number>(T).fill(0));
  const total = L * T;
  let done = 0;
  using session = engine.createSession();
  for (let t = 0; t < T; t++) {
    for (let l = 0; l < L; l++) {
      o.signal?.throwIfAborted();
      if (!hook && !isMoeLayer(c.family, l)) { o.onProgress?.(++done, total); continue; }
      const r = await session.forward(corrupt.slice(t), { interventions: [patchAt(l, t)], output: 'last' });
      session.truncate(t);
      effect[l][t] = (diffOf(r.logits, answer, wrong) - corrupt_diff) / (clean_diff - corrupt_diff);
      o.onProgress?.(++done, total);
    }
    if (t + 1 < T) await session.forward([corrupt[t]], { output: 'argmax' });
  }
  const piece = o.piece ?? String;
  return { tokens: clean.map(piece), clean_diff, corrupt_diff, effect };
}

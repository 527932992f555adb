// The research commands' definitions (README, "Command line": experts, analyze's routing
// structure, lens, patch), written out again as plainly as possible from forward hooks, so that
// tests compare each command with an independent computation of what it promises.
import type { Engine } from '../../engine/engine.ts';
import type { ExpertChoice, HookTensor, HookValue } from '../../engine/hooks/request.ts';

interface Routed { indices: ArrayLike<number>; weights: ArrayLike<number> }

/** The `experts` report's layers: per (layer, expert) shares, top tokens by lift, top contexts. */
export function expertsByDefinition(ids: number[], layers: Routed[], texts: string[], K: number, E: number, top: number, minCount: number, piece: (v: number) => string) {
  const n = ids.length;
  return layers.map(({ indices, weights }) => ({
    experts: Array.from({ length: E }, (_, e) => {
      const inTopk = (t: number) => Array.from({ length: K }, (_, k) => indices[t * K + k]).includes(e);
      const members = ids.filter((_, t) => inTopk(t)).length;
      const firsts = ids.filter((_, t) => indices[t * K] === e).length;
      const vocab = [...new Set(ids)];
      const rows = vocab.filter((v) => ids.filter((x) => x === v).length >= minCount).map((v) => {
        const occ = ids.filter((x) => x === v).length;
        const count = ids.filter((x, t) => x === v && inTopk(t)).length;
        return { id: v, piece: piece(v), count, lift: members ? (count / occ) / (members / n) : 0 };
      });
      rows.sort((a, b) => (b.lift !== a.lift ? b.lift - a.lift : b.count !== a.count ? b.count - a.count : a.id - b.id));
      const weighted: { position: number; weight: number }[] = [];
      for (let t = 0; t < n; t++) for (let k = 0; k < K; k++) if (indices[t * K + k] === e) weighted.push({ position: t, weight: weights[t * K + k] });
      weighted.sort((a, b) => (b.weight !== a.weight ? b.weight - a.weight : a.position - b.position));
      return {
        expert: e, first_share: firsts / n, topk_share: members / (n * K), top_tokens: rows.slice(0, top),
        top_contexts: weighted.slice(0, top).map(({ position, weight }) => ({
          position, weight,
          text: `${texts.slice(Math.max(0, position - 8), position).join('')}⟨${texts[position]}⟩${texts.slice(position + 1, position + 5).join('')}`,
        })),
      };
    }),
  }));
}

/** analyze's routing structure of one layer (and the next, for transitions), from (T, K) indices and (T, E) probs. */
export function structureByDefinition(ix: ArrayLike<number>, next: ArrayLike<number> | null, probs: ArrayLike<number>, K: number, E: number) {
  const T = ix.length / K;
  const set = (t: number) => new Set(Array.from({ length: K }, (_, k) => ix[t * K + k]));
  const coactivation = Array.from({ length: E }, (_, e) => Array.from({ length: E }, (_, f) => {
    let n = 0;
    for (let t = 0; t < T; t++) if (set(t).has(e) && set(t).has(f)) n++;
    return n / T;
  }));
  const transition = next && Array.from({ length: E }, (_, e) => {
    const from = Array.from({ length: T }, (_, t) => t).filter((t) => ix[t * K] === e);
    return Array.from({ length: E }, (_, f) => (from.length ? from.filter((t) => next[t * K] === f).length / from.length : 0));
  });
  const margins = Array.from({ length: T }, (_, t) => {
    const p = Array.from({ length: E }, (_, e) => probs[t * E + e]).sort((a, b) => b - a);
    return K < E ? p[K - 1] - p[K] : 1;
  });
  return {
    coactivation, transition,
    margin: margins.reduce((a, b) => a + b, 0) / T,
    fragile_share: margins.filter((m) => m < 0.05).length / T,
  };
}

/** float64 lm_head(rmsnorm(x) * norm) of one row of width D = norm.length. */
export function readOut(x: ArrayLike<number>, norm: ArrayLike<number>, lmHead: ArrayLike<number>, eps: number, V: number): number[] {
  const D = norm.length;
  let ss = 0;
  for (let i = 0; i < D; i++) ss += x[i] * x[i];
  const scale = 1 / Math.sqrt(ss / D + eps);
  return Array.from({ length: V }, (_, v) => {
    let s = 0;
    for (let i = 0; i < D; i++) s += x[i] * scale * norm[i] * lmHead[v * D + i];
    return s;
  });
}

export function softmax(row: number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** effect[l][t] by the definition: whole forwards of the corrupted text, each patch made by a function hook. */
export async function patchedByHand(engine: Engine, clean: number[], corrupt: number[], what: string, answer: number, wrong: number): Promise<{ clean_diff: number; corrupt_diff: number; effect: number[][] }> {
  const c = engine.config, D = c.hidden_size, K = c.num_experts_per_tok;
  const diff = (logits: Float32Array) => logits[answer] - logits[wrong];
  const hook = what === 'routing' ? 'moe.hook_expert_choice' : `hook_${what}`;
  const cleanRun = await engine.forward(clean, { hooks: [`blocks.*.${hook}`] });
  const clean_diff = diff(cleanRun.logits), corrupt_diff = diff((await engine.forward(corrupt)).logits);
  const effect: number[][] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    effect.push([]);
    const source = cleanRun.hooks.get(`blocks.${l}.${hook}`)!;
    for (let t = 0; t < clean.length; t++) {
      const fn = (v: HookValue): HookValue => {
        if ('data' in v) { const d = v.data.slice(); d.set((source as HookTensor).data.subarray(t * D, (t + 1) * D), t * D); return { shape: v.shape, data: d }; }
        const s = source as ExpertChoice, indices = v.indices.slice(), weights = v.weights.slice();
        indices.set(s.indices.subarray(t * K, (t + 1) * K), t * K);
        weights.set(s.weights.subarray(t * K, (t + 1) * K), t * K);
        return { shape: v.shape, indices, weights };
      };
      const r = await engine.forward(corrupt, { hooks: { fns: { [`blocks.${l}.${hook}`]: fn } } });
      effect[l].push((diff(r.logits) - corrupt_diff) / (clean_diff - corrupt_diff));
    }
  }
  return { clean_diff, corrupt_diff, effect };
}

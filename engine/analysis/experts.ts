// Expert dashboards: for every (layer, expert) over a corpus, its share of first choices and of
// top-k memberships, the tokens it prefers most (by lift) and the contexts where the router
// weights it most. The CLI's `experts`, the site's `mixscope.experts` and the notebooks all call
// `expertReport`; the definitions are the CLI's contract (README, "Command line"):
//
// - count(v, e): positions holding token v whose top-k set at that layer contains e;
// - lift(v, e) = (count(v, e) / occurrences(v)) / (members(e) / n), members(e) the positions whose
//   top-k set contains e, n all positions (0 for an expert never chosen);
// - top_tokens: tokens with occurrences(v) >= minCount, by lift descending, then count descending,
//   then id ascending; the first `top`;
// - top_contexts: the `top` positions with the largest renormalised weight on e (of those whose
//   top-k set contains e; ties to the earlier position), with the text around them.
//
// A corpus is one or more documents (token ids, each tokenized on its own), each routed as
// `analyze` routes a text (long-text-routing.ts: overlapping windows); positions count across the
// documents in order, and a context never crosses a document's edge.
//
// Letters: n positions, E experts, K experts per token, L layers.
import type { Engine } from '../engine.ts';
import type { MixscopeTokenizer } from '../tokenizer.ts';
import { TokenTexts, specialIds } from '../generation/token-texts.ts';
import { routeLongText, textWindows } from './long-text-routing.ts';
import { layerRoutingStats } from './routing-stats.ts';
import { isMoeLayer } from '../family.ts';
import type { LayerRouting } from '../routing/routing.ts';

export interface TokenPreference { id: number; piece: string; count: number; lift: number }
export interface ExpertContext { position: number; weight: number; text: string }
export interface ExpertCard {
  expert: number;
  first_share: number;
  topk_share: number;
  top_tokens: TokenPreference[];
  top_contexts: ExpertContext[];
}
/** The CLI's `experts` output. */
export interface ExpertsReport {
  tokens: number;
  experts: number;
  top_k: number;
  /** Per layer; null for a dense layer (it routes nothing), as in `analyze`. */
  layers: ({ experts: ExpertCard[] } | null)[];
}
/** Per document: its tokens and, per layer, each expert's shares (as `analyze` counts them; null for a dense layer). */
export interface DocumentShares { tokens: number; first_share: (number[] | null)[]; topk_share: (number[] | null)[] }

export interface ExpertReportOptions {
  /** Tokens and contexts per expert (default 10). */
  top?: number;
  /** Least occurrences of a token for top_tokens (default 5). */
  minCount?: number;
  /** For pieces and context text; without it, ids stand for both. */
  tokenizer?: MixscopeTokenizer | null;
  signal?: AbortSignal;
  /** Windows routed so far, of all documents. */
  onProgress?: (done: number, total: number) => void;
}

/** Tokens shown before and after a context's token. */
export const CONTEXT_BEFORE = 8, CONTEXT_AFTER = 4;
/** Marks the token in a context's text: "... the ⟨cat⟩ sat ...". */
export const CONTEXT_OPEN = '⟨', CONTEXT_CLOSE = '⟩';

export async function expertReport(engine: Engine, documents: readonly (readonly number[])[], o: ExpertReportOptions = {}): Promise<ExpertsReport & { documents: DocumentShares[] }> {
  const c = engine.config;
  const E = c.num_local_experts, K = c.num_experts_per_tok, L = c.num_hidden_layers;
  const top = o.top ?? 10, minCount = o.minCount ?? 5;
  if (!Number.isInteger(top) || top < 1) throw new RangeError(`top must be a positive integer, got ${top}`);
  if (!Number.isInteger(minCount) || minCount < 1) throw new RangeError(`minCount must be a positive integer, got ${minCount}`);
  if (documents.length === 0 || documents.every((d) => d.length === 0)) throw new RangeError('the expert report needs a text of at least one token');

  // ---- route every document, windowed as analyze does
  const total = documents.reduce((a, d) => a + textWindows(c, d.length).starts.length, 0);
  let done = 0;
  const routed: LayerRouting[][] = [];
  for (const doc of documents) {
    if (doc.length === 0) { routed.push([]); continue; }
    const r = await routeLongText(engine, doc, { signal: o.signal, onWindow: () => o.onProgress?.(++done, total) });
    routed.push(r.layers);
  }
  o.signal?.throwIfAborted();

  // ---- the corpus as one sequence of n positions: ids, token texts, and per layer the routing
  const ids = documents.flat();
  const n = ids.length;
  const docOf = new Int32Array(n);
  const texts: string[] = [];
  documents.forEach((doc, d) => {
    const tt = new TokenTexts(o.tokenizer ?? null, specialIds(c));
    const start = texts.length;
    doc.forEach((id, i) => { texts.push(tt.push(id, i, false).text); docOf[start + i] = d; });
    if (doc.length) texts[texts.length - 1] += tt.flush();
  });
  const piece = (v: number) => o.tokenizer?.idToToken(v) ?? String(v);

  // Distinct tokens and their occurrences (the same at every layer).
  const slot = new Map<number, number>();
  const distinct: number[] = [];
  const occurrences: number[] = [];
  const slotOf = new Int32Array(n);
  ids.forEach((v, t) => {
    let s = slot.get(v);
    if (s === undefined) { s = distinct.length; slot.set(v, s); distinct.push(v); occurrences.push(0); }
    occurrences[s]++;
    slotOf[t] = s;
  });

  const layers = Array.from({ length: L }, (_, l) => {
    if (!isMoeLayer(c.family, l)) return null;
    const indices = new Int32Array(n * K), weights = new Float32Array(n * K);
    let at = 0;
    for (const r of routed) {
      if (!r.length) continue;
      indices.set(r[l].indices, at * K);
      weights.set(r[l].weights, at * K);
      at += r[l].indices.length / K;
    }
    const stats = layerRoutingStats(indices, K, E);
    const members = new Array<number>(E).fill(0);
    const counts = new Int32Array(distinct.length * E); // (distinct tokens, E)
    const chosen: { position: number; weight: number }[][] = Array.from({ length: E }, () => []);
    for (let t = 0; t < n; t++) {
      for (let k = 0; k < K; k++) {
        const e = indices[t * K + k];
        members[e]++;
        counts[slotOf[t] * E + e]++;
        chosen[e].push({ position: t, weight: weights[t * K + k] });
      }
    }
    const experts: ExpertCard[] = Array.from({ length: E }, (_, e) => {
      const base = members[e] / n;
      const candidates: TokenPreference[] = [];
      distinct.forEach((v, s) => {
        if (occurrences[s] < minCount) return;
        const count = counts[s * E + e];
        candidates.push({ id: v, piece: piece(v), count, lift: base > 0 ? (count / occurrences[s]) / base : 0 });
      });
      candidates.sort((a, b) => b.lift - a.lift || b.count - a.count || a.id - b.id);
      const contexts = chosen[e].sort((a, b) => b.weight - a.weight || a.position - b.position).slice(0, top)
        .map(({ position, weight }) => ({ position, weight, text: contextText(texts, docOf, position) }));
      return { expert: e, first_share: stats.first_share[e], topk_share: stats.topk_share[e], top_tokens: candidates.slice(0, top), top_contexts: contexts };
    });
    return { experts };
  });

  const shares: DocumentShares[] = routed.map((r, d) => {
    const per = r.map((Ld) => (Ld.dense ? null : layerRoutingStats(Ld.indices, K, E)));
    return { tokens: documents[d].length, first_share: per.map((s) => s?.first_share ?? null), topk_share: per.map((s) => s?.topk_share ?? null) };
  });
  return { tokens: n, experts: E, top_k: K, layers, documents: shares };
}

/** The texts of the tokens around `t` in its document, the token itself between ⟨ and ⟩. */
export function contextText(texts: readonly string[], docOf: ArrayLike<number>, t: number): string {
  let a = t, b = t;
  while (a > 0 && t - a < CONTEXT_BEFORE && docOf[a - 1] === docOf[t]) a--;
  while (b + 1 < texts.length && b - t < CONTEXT_AFTER && docOf[b + 1] === docOf[t]) b++;
  return texts.slice(a, t).join('') + CONTEXT_OPEN + texts[t] + CONTEXT_CLOSE + texts.slice(t + 1, b + 1).join('');
}

// Synthetic data of the research views, from the viz tests' synthetic routing (any E and K) and
// the engine's own pure analysis functions, so the views are drawn from what the engine gives.
import { coactivation, marginStats, transition } from '../../engine/analysis/routing-structure.ts';
import { layerRoutingStats } from '../../engine/analysis/routing-stats.ts';
import { compareRouting } from '../../engine/compare/compare-routing.ts';
import type { ExpertsData, LensData, PatchData, StructureData, DiffData } from '../../viz/research-types.ts';
import type { RoutingData } from '../../viz/types.ts';
import { expertsByDefinition } from '../helpers/research-definitions.ts';
import { makeRouting, makeTokens } from './viz-fixtures.ts';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => { a = (a * 1664525 + 1013904223) >>> 0; return a / 4294967296; };
}

export function makeStructure(d: RoutingData): StructureData {
  const K = d.topK, E = d.experts;
  return {
    tokens: d.tokens.length, experts: E, top_k: K,
    layers: d.layers.map((L, l) => {
      const s = layerRoutingStats(L.indices, K, E);
      const next = d.layers[l + 1];
      return {
        first_share: s.first_share, topk_share: s.topk_share, repeat_first: s.repeat_first, repeat_topk: s.repeat_topk,
        coactivation: coactivation(L.indices, K, E), ...(next ? { transition: transition(L.indices, next.indices, K, E) } : {}), ...marginStats(L.probs, K, E),
      };
    }),
  };
}

export function makeExperts(d: RoutingData, top = 8): ExpertsData {
  const ids = d.tokens.map((t) => t.id), texts = d.tokens.map((t) => t.text);
  const pieces = new Map(d.tokens.map((t) => [t.id, t.piece]));
  return { tokens: ids.length, experts: d.experts, top_k: d.topK, layers: expertsByDefinition(ids, d.layers, texts, d.topK, d.experts, top, 1, (v) => pieces.get(v) ?? String(v)) };
}

const PIECES = ['▁the', '▁def', '(', '▁return', '▁n', '<0x0A>', '▁Welt', '▁self', ':', '▁+', 'ing', '▁1', '▁der', '▁if'];

/** A lens of T tokens: probabilities that sharpen with depth; K experts per token from `d`. */
export function makeLens(d: RoutingData, T: number, top = 5, seed = 4): LensData {
  const r = rng(seed);
  const tokens = makeTokens(T);
  return {
    tokens,
    layers: d.layers.map((L, l) => ({
      // Probabilities falling from the first token on, each piece once (as a real lens gives them).
      resid: Array.from({ length: T }, () => {
        const first = 0.15 + 0.8 * (l / Math.max(1, d.layers.length - 1)) * r();
        let rest = 1 - first, prob = first;
        const start = Math.floor(r() * PIECES.length);
        return Array.from({ length: top }, (_, i) => {
          if (i > 0) { prob = Math.min(prob, rest * (0.2 + 0.4 * r())); rest -= prob; }
          const id = (start + i) % PIECES.length;
          return { id, piece: PIECES[id], prob };
        });
      }),
      experts: Array.from({ length: T }, (_, t) => Array.from({ length: d.topK }, (_, k) => ({
        expert: L.indices[t * d.topK + k], weight: L.weights[t * d.topK + k],
        top: Array.from({ length: top }, (_, i) => ({ id: i, piece: PIECES[Math.floor(r() * PIECES.length)], logit: 8 - i - 2 * r() })),
      }))),
    })),
  };
}

/** A patching result over T tokens and L layers: the effect moves from the changed position to the last. */
export function makePatch(T: number, L: number, changed = 2): PatchData {
  const tokens = makeTokens(T).map((t) => t.piece);
  const corrupt = tokens.map((p, t) => (t === changed ? '▁other' : p));
  return {
    tokens, corruptTokens: corrupt, clean_diff: 6.8, corrupt_diff: -4.7, what: 'resid_pre',
    answer: { id: 1, piece: '▁Welt' }, wrong: { id: 2, piece: '▁world' },
    effect: Array.from({ length: L }, (_, l) => Array.from({ length: T }, (_, t) => (t === changed ? 1 - l / L : t === T - 1 ? l / L : t === changed + 1 ? -0.2 : 0))),
  };
}

export function makeDiff(a: RoutingData, b: RoutingData): DiffData {
  return { a, b, difference: compareRouting(a, b), labels: ['the prompt', 'the prompt + 1 intervention'] };
}

export { makeRouting };

import { describe, expect, it } from 'vitest';
import { coactivation, FRAGILE_MARGIN, marginStats, topkMargins, transition } from './routing-structure.ts';
import { analyzeRouting } from './analyze-routing.ts';
import { CpuEngine } from '../cpu/engine.ts';
import { loadModelDirectory } from '../node.ts';
import { goldenCases } from '../../tests/golden/fixtures.ts';
import { randomWeights, tinyConfig } from '../../tests/helpers/random-model.ts';

describe('co-activation', () => {
  it('matches a hand-computed case: shares of tokens holding both experts, the diagonal holding one', () => {
    // Four tokens, top-2 of 4 experts: (0,1) (0,2) (3,1) (1,0).
    const m = coactivation([0, 1, 0, 2, 3, 1, 1, 0], 2, 4);
    expect(m[0][1]).toBe(0.5);
    expect(m[1][0]).toBe(0.5);
    expect(m[0][2]).toBe(0.25);
    expect(m[1][3]).toBe(0.25);
    expect(m[2][3]).toBe(0);
    expect([0, 1, 2, 3].map((e) => m[e][e])).toEqual([0.75, 0.75, 0.25, 0.25]);
    // The diagonal sums to K: each token is in K experts' sets.
    expect([0, 1, 2, 3].reduce((a, e) => a + m[e][e], 0)).toBe(2);
  });
});

describe('transitions', () => {
  it('gives P(first choice at the next layer | first choice here), rows of unchosen experts all 0', () => {
    const here = [0, 1, 0, 2, 3, 1, 0, 3];
    const next = [2, 0, 1, 0, 2, 3, 2, 1];
    const m = transition(here, next, 2, 4);
    expect(m[0]).toEqual([0, 1 / 3, 2 / 3, 0]);
    expect(m[3]).toEqual([0, 0, 1, 0]);
    expect(m[1]).toEqual([0, 0, 0, 0]);
    expect(m[2]).toEqual([0, 0, 0, 0]);
  });
});

describe('top-k margins', () => {
  it('is the K-th largest probability minus the (K+1)-th, 1 when every expert is chosen', () => {
    const probs = [0.1, 0.4, 0.3, 0.2, 0.25, 0.22, 0.3, 0.23];
    expect(Array.from(topkMargins(probs, 2, 4)).map((x) => +x.toFixed(12))).toEqual([0.1, 0.02]);
    const s = marginStats(probs, 2, 4);
    expect(s.margin).toBeCloseTo(0.06, 12);
    expect(s.fragile_share).toBe(0.5);
    expect(FRAGILE_MARGIN).toBe(0.05);
    expect(Array.from(topkMargins([0.5, 0.5], 2, 2))).toEqual([1]);
  });

  it.each(goldenCases().filter((g) => g.expected.topk_margin).map((g) => [g.name, g] as const))('agrees with the PyTorch reference\'s margins on %s', async (_name, g) => {
    const ckpt = await loadModelDirectory(g.dir);
    const engine = new CpuEngine(ckpt.config, ckpt.weights);
    const a = await analyzeRouting(engine, g.expected.ids);
    a.layers.forEach((layer, l) => {
      const ref = g.expected.topk_margin![l];
      const mean = ref.reduce((x, y) => x + y, 0) / ref.length;
      expect(layer.margin).toBeCloseTo(mean, 5);
      // Margins within 1e-5 of the threshold could fall either side in float32: none are that close here.
      expect(ref.every((m) => Math.abs(m - FRAGILE_MARGIN) > 1e-5)).toBe(true);
      expect(layer.fragile_share).toBe(ref.filter((m) => m < FRAGILE_MARGIN).length / ref.length);
    });
  });
});

describe('analyze: routing structure per layer', () => {
  it('adds co-activation, transitions (not on the last layer), margin and fragile share, computed over windows', async () => {
    const c = tinyConfig({ max_position_embeddings: 16, sliding_window: 4, num_hidden_layers: 3 });
    const engine = new CpuEngine(c, randomWeights(c, 5));
    const ids = Array.from({ length: 40 }, (_, i) => (i * 7 + 3) % c.vocab_size);
    const a = await analyzeRouting(engine, ids);
    expect(a.windows).toBe(3);
    expect(a.layers.map((l) => 'transition' in l)).toEqual([true, true, false]);
    for (const layer of a.layers) {
      expect(layer.coactivation).toHaveLength(c.num_local_experts);
      layer.coactivation.forEach((row, e) => row.forEach((x, f) => expect(x).toBe(layer.coactivation[f][e])));
      // The diagonal is the share of tokens holding the expert: K times its top-k share.
      layer.coactivation.forEach((row, e) => expect(row[e]).toBeCloseTo(layer.topk_share[e] * c.num_experts_per_tok, 12));
      layer.transition?.forEach((row, e) => {
        const sum = row.reduce((x, y) => x + y, 0);
        if (layer.first_share[e] > 0) expect(sum).toBeCloseTo(1, 12); else expect(sum).toBe(0);
      });
      expect(layer.margin).toBeGreaterThan(0);
      expect(layer.fragile_share).toBeGreaterThanOrEqual(0);
      expect(layer.fragile_share).toBeLessThanOrEqual(1);
    }
    const ac = new AbortController();
    ac.abort();
    await expect(analyzeRouting(engine, ids, undefined, ac.signal)).rejects.toThrow(/abort/i);
  });
});

import { describe, expect, it } from 'vitest';
import { binomial, layerRoutingStats, randomRepeatRates } from './routing-stats.ts';
import { routeLongText } from './long-text-routing.ts';
import { layerRouting, routingHooks } from '../routing/routing.ts';
import { seededRandom } from '../sampling.ts';
import { CpuEngine } from '../cpu/engine.ts';
import type { ExpertChoice } from '../hooks/request.ts';
import { randomWeights, tinyConfig } from '../../tests/helpers/random-model.ts';

describe('routing statistics (Mixtral paper, section 5)', () => {
  it('matches a hand-computed case', () => {
    // Four tokens, top-2 of 4 experts: (0,1) (0,2) (3,1) (2,3).
    const s = layerRoutingStats([0, 1, 0, 2, 3, 1, 2, 3], 2, 4);
    expect(s.first_share).toEqual([0.5, 0, 0.25, 0.25]);
    // Assignments: expert 0 twice, 1 twice, 2 twice, 3 twice, of 8.
    expect(s.topk_share).toEqual([0.25, 0.25, 0.25, 0.25]);
    // Pairs: (0,1)->(0,2) same first, overlap; (0,2)->(3,1) neither; (3,1)->(2,3) overlap only.
    expect(s.pairs).toBe(3);
    expect(s.repeat_first).toBeCloseTo(1 / 3, 12);
    expect(s.repeat_topk).toBeCloseTo(2 / 3, 12);
  });

  it('does not pair tokens across a break', () => {
    const s = layerRoutingStats([0, 1, 0, 2, 0, 3], 2, 4, [false, false, true]);
    expect(s.pairs).toBe(1);
    expect(s.repeat_first).toBe(1);
  });

  it('gives the random-routing rates the paper quotes for 8 experts, top-2', () => {
    const r = randomRepeatRates(8, 2);
    expect(r.repeat_first).toBe(0.125);
    expect(r.repeat_topk).toBeCloseTo(1 - 15 / 28, 12); // 46.4%
    expect(binomial(8, 2)).toBe(28);
    expect(binomial(6, 2)).toBe(15);
  });

  it('random routing measured over many tokens approaches those rates', () => {
    const rnd = seededRandom(12345);
    const T = 40000, ix: number[] = [];
    for (let t = 0; t < T; t++) {
      const e0 = Math.floor(rnd() * 8);
      let e1 = Math.floor(rnd() * 7);
      if (e1 >= e0) e1++;
      ix.push(e0, e1);
    }
    const s = layerRoutingStats(ix, 2, 8);
    expect(s.repeat_first).toBeCloseTo(0.125, 2);
    expect(s.repeat_topk).toBeCloseTo(0.464, 2);
    expect(s.first_share.reduce((x, y) => x + y)).toBeCloseTo(1, 12);
  });

  it.each([[64, 8], [128, 8], [60, 4], [32, 8]])('random routing over %i experts, top-%i, measured over many tokens, gives the rates computed for that E and K', (E, K) => {
    const rnd = seededRandom(E * 100 + K);
    const T = 30000, ix: number[] = [];
    for (let t = 0; t < T; t++) {
      // K distinct experts uniformly at random (a partial Fisher-Yates shuffle).
      const pool = Array.from({ length: E }, (_, e) => e);
      for (let k = 0; k < K; k++) { const j = k + Math.floor(rnd() * (E - k)); [pool[k], pool[j]] = [pool[j], pool[k]]; ix.push(pool[k]); }
    }
    const s = layerRoutingStats(ix, K, E), r = randomRepeatRates(E, K);
    expect(r.repeat_first).toBe(1 / E);
    expect(Math.abs(s.repeat_first - r.repeat_first)).toBeLessThan(4 * Math.sqrt(r.repeat_first / T));
    expect(Math.abs(s.repeat_topk - r.repeat_topk)).toBeLessThan(4 * Math.sqrt(r.repeat_topk * (1 - r.repeat_topk) / T));
  });

  it('rejects indices outside the experts', () => {
    expect(() => layerRoutingStats([0, 9], 2, 8)).toThrow(/outside/);
  });
});

describe('routing a text longer than the model reads', () => {
  it('equals one forward when the text fits, and keeps each token in a window with context otherwise', async () => {
    const c = tinyConfig({ max_position_embeddings: 16, sliding_window: 4 });
    const engine = new CpuEngine(c, randomWeights(c, 3));
    const ids = Array.from({ length: 40 }, (_, i) => (i * 7 + 3) % c.vocab_size);
    const whole = await routeLongText(engine, ids.slice(0, 16));
    const direct = await engine.forward(ids.slice(0, 16), { hooks: ['blocks.*.moe.hook_expert_choice'] });
    expect([...whole.layers[1].indices]).toEqual([...(direct.hooks.get('blocks.1.moe.hook_expert_choice') as ExpertChoice).indices]);
    const long = await routeLongText(engine, ids);
    expect(long.windows).toBe(3); // windows [0,16) [12,28) [24,40): 4 tokens of context each
    // A token in the second window is routed as that window's forward routes it.
    const w2 = await engine.forward(ids.slice(12, 28), { hooks: ['blocks.*.moe.hook_expert_choice'] });
    const c2 = (w2.hooks.get('blocks.0.moe.hook_expert_choice') as ExpertChoice).indices;
    expect([...long.layers[0].indices.subarray(20 * 2, 22 * 2)]).toEqual([...c2.subarray(8 * 2, 10 * 2)]);
    // Its weights and router probabilities come from the same window.
    const routed = layerRouting(c, (await engine.forward(ids.slice(12, 28), { hooks: routingHooks() })).hooks);
    expect([...long.layers[1].weights.subarray(20 * 2, 22 * 2)]).toEqual([...routed[1].weights.subarray(8 * 2, 10 * 2)]);
    expect([...long.layers[1].probs.subarray(20 * 4, 22 * 4)]).toEqual([...routed[1].probs.subarray(8 * 4, 10 * 4)]);
  });
});

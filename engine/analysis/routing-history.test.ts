import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  domainDivergence, domainSpecialisation, firstChoiceShare, randomSaturation, readRoutingHistory, routerSaturation, type RoutingShape,
} from './routing-history.ts';

// Two domains, one layer, two tokens, top-2 of 4 experts: (D, L, T, K) flattened.
const shape: RoutingShape = { domains: 2, layers: 1, tokens: 2, k: 2, experts: 4 };
//                          d0 t0   d0 t1   d1 t0   d1 t1
const final = Uint8Array.of(0, 1,   2, 3,   0, 2,   1, 3);
const early = Uint8Array.of(1, 0,   2, 0,   3, 1,   1, 3);

describe('routing history statistics (OLMoE section 5)', () => {
  it('saturation is the mean share of a token\'s top-k set also chosen at the final checkpoint, in any order', () => {
    // Common experts per token: {1,0}∩{0,1} = 2, {2,0}∩{2,3} = 1, {3,1}∩{0,2} = 0, {1,3}∩{1,3} = 2.
    expect(routerSaturation(early, final, shape)).toEqual([(2 + 1 + 0 + 2) / (4 * 2)]);
  });

  it('k = 1 is the first-choice agreement', () => {
    // First choices: 1 vs 0, 2 vs 2, 3 vs 0, 1 vs 1.
    expect(routerSaturation(early, final, shape, 1)).toEqual([2 / 4]);
  });

  it('the final checkpoint is saturated against itself, and random routing gives k / E', () => {
    expect(routerSaturation(final, final, shape)).toEqual([1]);
    expect(routerSaturation(final, final, shape, 1)).toEqual([1]);
    expect(randomSaturation(8, 2)).toBe(0.25);
    expect(randomSaturation(64, 8)).toBe(0.125); // OLMoE-1B-7B, as the paper says
  });

  it('domain specialisation is the share of a domain\'s tokens with the expert in its top k', () => {
    // d0: expert 0 in 1 of 2 tokens, 1 in 1, 2 in 1, 3 in 1; d1: 0, 1, 2, 3 each once.
    expect(domainSpecialisation(final, shape)).toEqual([[[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]]]);
    // First choices only: d0 picks 0 then 2, d1 picks 0 then 1.
    expect(domainSpecialisation(final, shape, 1)).toEqual([[[0.5, 0, 0.5, 0], [0.5, 0.5, 0, 0]]]);
    expect(firstChoiceShare(final, shape)).toEqual([[0.5, 0.25, 0.25, 0]]);
  });

  it('domain divergence is 0 for identical mixes and 1 - 1/D for disjoint ones', () => {
    expect(domainDivergence([[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]], 2)).toBe(0);
    expect(domainDivergence([[1, 1, 0, 0], [0, 0, 1, 1]], 2)).toBeCloseTo(0.5, 12);
    expect(domainDivergence([[1, 0, 0], [0, 1, 0], [0, 0, 1]], 1)).toBeCloseTo(2 / 3, 12);
  });

  it('refuses a k the files do not hold and files of the wrong size', () => {
    expect(() => routerSaturation(early, final, shape, 3)).toThrow(/k=3 must be an integer in 1\.\.2/);
    expect(() => routerSaturation(early.subarray(1), final, shape)).toThrow(/holds 7 expert ids, expected 8/);
  });

  it('reads index.json with its files, sorted by step, and names the file that is wrong', () => {
    const index = {
      domains: ['a', 'b'], layers: 1, k: 2, experts: 4, tokens_per_domain: 2,
      checkpoints: [
        { step: 20, percent: 100, tokens_trained: 40, file: 'f.bin', heldout_loss: { a: 1, b: 2 } },
        { step: 10, percent: 50, tokens_trained: 20, file: 'e.bin', heldout_loss: { a: 3, b: 4 } },
      ],
    };
    const files: Record<string, Uint8Array> = { 'e.bin': early, 'f.bin': final };
    const h = readRoutingHistory(index, (n) => files[n]);
    expect(h.checkpoints.map((c) => c.step)).toEqual([10, 20]);
    expect(h.shape).toEqual(shape);
    expect(h.checkpoints[0].heldoutLoss).toEqual({ a: 3, b: 4 });
    expect(() => readRoutingHistory(index, (n) => (n === 'f.bin' ? Uint8Array.of(0, 1, 2, 9, 0, 1, 2, 3) : early)))
      .toThrow(/f\.bin: expert id 9 at byte 3 is outside 0\.\.3/);
    expect(() => readRoutingHistory({ ...index, layers: 0 }, (n) => files[n])).toThrow(/"layers" must be a positive integer/);
  });

  it('reads the repository\'s routing history: every checkpoint file fits, and the last is saturated against itself', () => {
    const dir = path.resolve(import.meta.dirname, '../../training/data/routing-history');
    const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8'));
    const h = readRoutingHistory(index, (n) => new Uint8Array(readFileSync(path.join(dir, n))));
    expect(h.shape).toEqual({ domains: 6, layers: 6, tokens: 1024, k: 2, experts: 8 });
    const last = h.checkpoints[h.checkpoints.length - 1];
    expect(routerSaturation(last.choices, last.choices, h.shape)).toEqual(new Array(6).fill(1));
    for (const c of h.checkpoints) {
      for (const layer of domainSpecialisation(c.choices, h.shape)) for (const row of layer) {
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(2, 12);
      }
      for (const s of routerSaturation(c.choices, last.choices, h.shape)) expect(s).toBeGreaterThanOrEqual(0);
    }
  });
});

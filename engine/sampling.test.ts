import { describe, expect, it } from 'vitest';
import { argmax, candidates, createSampler, seededRandom } from './sampling.ts';

const logits = Float32Array.from([1, 3, 2, 0.5, 2.9]);

describe('sampling', () => {
  it('temperature 0 is greedy argmax', () => {
    expect(createSampler({ temperature: 0 })(logits)).toBe(1);
    expect(argmax([0, 5, 5])).toBe(1);
  });

  it('the same seed reproduces the same tokens; another seed differs', () => {
    const draw = (seed: number) => { const s = createSampler({ temperature: 1, seed }); return Array.from({ length: 50 }, () => s(logits)); };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('top-k keeps the k most likely tokens', () => {
    expect(candidates(logits, { topK: 2 }).ids).toEqual([1, 4]);
    const s = createSampler({ temperature: 1, topK: 2, seed: 3 });
    for (let i = 0; i < 200; i++) expect([1, 4]).toContain(s(logits));
  });

  it('top-p keeps the smallest set reaching p, at least one token', () => {
    const { ids, probs } = candidates(logits, { topP: 0.5 });
    expect(ids).toEqual([1, 4]);
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(candidates(logits, { topP: 1e-9 }).ids).toEqual([1]);
  });

  it('sampled frequencies follow the softmax', () => {
    const s = createSampler({ temperature: 1, seed: 11 });
    const counts = new Array(5).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) counts[s(logits)]++;
    const { ids, probs } = candidates(logits, {});
    ids.forEach((id, i) => expect(counts[id] / n).toBeCloseTo(probs[i], 1));
  });

  it('rejects nonsense options', () => {
    expect(() => createSampler({ topP: 0 })).toThrow(/topP/);
    expect(() => createSampler({ temperature: NaN })).toThrow(/finite/);
  });

  it('seededRandom is uniform-ish in [0, 1)', () => {
    const r = seededRandom(1);
    let sum = 0;
    for (let i = 0; i < 10000; i++) { const v = r(); expect(v).toBeGreaterThanOrEqual(0); expect(v).toBeLessThan(1); sum += v; }
    expect(sum / 10000).toBeCloseTo(0.5, 1);
  });
});

import { describe, expect, it } from 'vitest';
import { expertPaint, choiceCounts, FOCUS, OTHER_EXPERT, MANY_EXPERTS } from './many-experts.ts';
import { expertColor, OKABE_ITO } from './palette.ts';
import { makeRouting } from '../tests/browser/viz-fixtures.ts';

describe('expertPaint', () => {
  it('is expertColor for up to 32 experts: the 8-expert look is unchanged', () => {
    for (const E of [8, 16, MANY_EXPERTS]) {
      const data = makeRouting(20, { experts: E, topK: 2, layers: 2 });
      const paint = expertPaint(data, 0);
      expect(paint.many).toBe(false);
      for (let e = 0; e < E; e++) expect(paint.color(e)).toBe(expertColor(e, E));
    }
  });

  it('past 32 experts, gives the layer\'s 7 most chosen experts Okabe–Ito colours, in order of use, and grey to the rest', () => {
    const data = makeRouting(60, { experts: 128, topK: 8, layers: 3 });
    const counts = choiceCounts(data, 1);
    const paint = expertPaint(data, 1);
    expect(paint.many).toBe(true);
    expect(paint.focus).toHaveLength(FOCUS);
    for (let i = 1; i < FOCUS; i++) expect(counts[paint.focus[i - 1]]).toBeGreaterThanOrEqual(counts[paint.focus[i]]);
    const least = Math.min(...paint.focus.map((e) => counts[e]));
    expect(counts.filter((n, e) => !paint.focus.includes(e) && n > least)).toEqual([]);
    paint.focus.forEach((e, i) => expect(paint.color(e)).toBe(OKABE_ITO[i]));
    const other = Array.from({ length: 128 }, (_, e) => e).find((e) => !paint.focus.includes(e))!;
    expect(paint.color(other)).toBe(OTHER_EXPERT);
  });

  it('counts every top-k choice of a layer, or of all layers', () => {
    const data = makeRouting(10, { experts: 64, topK: 8, layers: 2 });
    expect(choiceCounts(data, 0).reduce((a, b) => a + b)).toBe(10 * 8);
    expect(choiceCounts(data, null).reduce((a, b) => a + b)).toBe(2 * 10 * 8);
  });
});

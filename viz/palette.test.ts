import { describe, expect, it } from 'vitest';
import { lab } from 'd3';
import { expertColor, OKABE_ITO, probabilityScale, textColorOn } from './palette.ts';

const distance = (a: string, b: string) => { const x = lab(a), y = lab(b); return Math.hypot(x.l - y.l, x.a - y.a, x.b - y.b); };

describe('expertColor', () => {
  it('gives the 8 Okabe–Ito colours to 8 experts, every pair far apart in Lab', () => {
    const colors = Array.from({ length: 8 }, (_, e) => expertColor(e, 8));
    expect(colors).toEqual([...OKABE_ITO]);
    for (let i = 0; i < 8; i++) for (let j = i + 1; j < 8; j++) expect(distance(colors[i], colors[j])).toBeGreaterThan(15);
  });

  it('stays distinct past 8 experts (16 and 32), keeping the first 8 unchanged', () => {
    for (const E of [16, 32]) {
      const colors = Array.from({ length: E }, (_, e) => expertColor(e, E));
      expect(new Set(colors).size).toBe(E);
      expect(colors.slice(0, 8)).toEqual([...OKABE_ITO]);
      for (let i = 0; i < E; i++) for (let j = i + 1; j < E; j++) expect(distance(colors[i], colors[j])).toBeGreaterThan(3);
    }
  });

  it('is a valid hex colour for every expert', () => {
    for (let e = 0; e < 64; e++) expect(expertColor(e, 64)).toMatch(/^#[0-9a-f]{6}$/i);
  });
});

describe('textColorOn and probabilityScale', () => {
  it('picks dark text on light fills and white on dark ones', () => {
    expect(textColorOn('#F0E442')).toBe('#111');
    expect(textColorOn('#0072B2')).toBe('#fff');
    expect(textColorOn('#5F5F5F')).toBe('#fff');
  });

  it('maps 0 to near white and 1 to a dark blue, monotonically darker', () => {
    const s = probabilityScale(1);
    const L = [0, 0.1, 0.5, 1].map((p) => lab(s(p)).l);
    expect(L[0]).toBeGreaterThan(95);
    expect(L[3]).toBeLessThan(35);
    for (let i = 1; i < L.length; i++) expect(L[i]).toBeLessThan(L[i - 1]);
  });
});

describe('colours of other categories', () => {
  it('keep far from every expert colour, and apart from each other', async () => {
    const { CATEGORY_COLORS, MODEL_COLORS } = await import('./palette.ts');
    for (const c of [...CATEGORY_COLORS, ...Object.values(MODEL_COLORS)]) for (const e of OKABE_ITO) expect(distance(c, e)).toBeGreaterThan(24);
    for (let i = 0; i < CATEGORY_COLORS.length; i++) for (let j = i + 1; j < CATEGORY_COLORS.length; j++) expect(distance(CATEGORY_COLORS[i]!, CATEGORY_COLORS[j]!)).toBeGreaterThan(20);
  });
});

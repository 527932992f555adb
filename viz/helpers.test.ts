import { describe, expect, it, vi } from 'vitest';
import { expertLoad } from './load.ts';
import { createHoverLink } from './hover.ts';
import { displayToken, newlineCount, pieceToken, tokenLabel } from './token-text.ts';
import { clip } from './routing-diff.ts';
import { pieceLabel } from './lens-grid.ts';
import { kvGroups, kvHeadOf, windowEdgePath } from './attention.ts';
import { heatmapLayout } from './router-heatmap.ts';
import { panelColumns } from './expert-load.ts';
import { thumbSize } from './attention-grid.ts';
import { makeRouting } from '../tests/browser/viz-fixtures.ts';

describe('expertLoad', () => {
  it('counts first choices and top-k membership per layer; both kinds of share sum to 1 over experts', () => {
    const data = makeRouting(30, { layers: 3, experts: 8, topK: 2 });
    const load = expertLoad(data);
    expect(load).toHaveLength(3 * 8);
    for (let l = 0; l < 3; l++) {
      const rows = load.filter((r) => r.layer === l);
      expect(rows.reduce((s, r) => s + r.first, 0)).toBe(30);
      expect(rows.reduce((s, r) => s + r.topk, 0)).toBe(60);
      expect(rows.reduce((s, r) => s + r.firstShare, 0)).toBeCloseTo(1, 9);
      expect(rows.reduce((s, r) => s + r.topkShare, 0)).toBeCloseTo(1, 9);
      rows.forEach((r) => expect(r.topkShare).toBeCloseTo(r.topk / (30 * 2), 12));
      const e = data.layers[l].indices[0];
      expect(rows[e].first).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('createHoverLink', () => {
  it('tells subscribers about changes only, and stops after unsubscribe', () => {
    const link = createHoverLink();
    const fn = vi.fn();
    const off = link.subscribe(fn);
    link.set(3); link.set(3); link.set(null);
    expect(fn.mock.calls).toEqual([[3], [null]]);
    off();
    link.set(5);
    expect(fn).toHaveBeenCalledTimes(2);
    expect(link.get()).toBe(5);
  });
});

describe('token text', () => {
  it('shows newlines as ↵ and tabs as ⇥, keeps or marks spaces, and falls back to the piece', () => {
    expect(displayToken({ text: '\n\n', piece: '<0x0A>' })).toBe('↵↵');
    expect(displayToken({ text: ' the', piece: '▁the' })).toBe(' the');
    expect(displayToken({ text: ' the', piece: '▁the' }, 'mark')).toBe('␣the');
    expect(displayToken({ text: '\tx', piece: 'x' })).toBe('⇥x');
    expect(displayToken({ text: '', piece: '<0xE2>' })).toBe('<0xE2>');
    expect(newlineCount('a\nb\n')).toBe(2);
    expect(tokenLabel({ text: ' fibonacci_sequence', piece: '' }, 8)).toBe('␣fibona…');
  });

  it('shows a bare vocabulary piece as its text: ▁ a marked space, byte pieces of newline and tab as ↵ and ⇥', () => {
    expect(pieceToken('▁the')).toEqual({ text: ' the', piece: '▁the' });
    expect(tokenLabel(pieceToken('<0x0A>'))).toBe('↵');
    expect(pieceLabel('<0x09>▁if')).toBe('⇥␣if');
    expect(pieceLabel('<0xE2>')).toBe('<0xE2>');
    expect(pieceLabel('▁fibonacci', 6)).toBe('␣fibo…');
  });

  it('cuts a long run label in the middle, keeping the intervention count at its end', () => {
    expect(clip('short')).toBe('short');
    const long = `${'def fibonacci(n): return n '.repeat(2)} + 1 intervention`;
    expect(clip(long)).toHaveLength(44);
    expect(clip(long).endsWith('+ 1 intervention')).toBe(true);
  });
});

describe('attention helpers', () => {
  it('groups query heads by the key/value head they read', () => {
    expect(kvGroups(8, 2)).toEqual([{ kv: 0, heads: [0, 1, 2, 3] }, { kv: 1, heads: [4, 5, 6, 7] }]);
    expect(kvHeadOf(5, 32, 8)).toBe(1);
  });

  it('draws the window edge down the left of key q - window + 1 from the first masked row', () => {
    expect(windowEdgePath(5, null, 10)).toBeNull();
    expect(windowEdgePath(4, 4, 10)).toBeNull();
    expect(windowEdgePath(6, 4, 10)).toBe('M10,40L10,50L20,50L20,60');
  });
});

describe('layout helpers', () => {
  it('keeps heatmap columns readable and inside the width', () => {
    const a = heatmapLayout(640, 8, 40, 14);
    expect(a.width).toBeLessThanOrEqual(640);
    expect(a.height).toBe(30 + 40 * 14 + 4);
    expect(heatmapLayout(300, 64, 1, 14).cell).toBe(12);
  });

  it('fits expert-load panels and attention thumbnails to the width', () => {
    expect(panelColumns(640, 6)).toBe(3);
    expect(panelColumns(100, 6)).toBe(1);
    expect(panelColumns(2000, 2)).toBe(2);
    const t = thumbSize(640, 8, 2);
    expect(8 * t + 2 * 24 + 8 * 10).toBeLessThanOrEqual(640);
    expect(thumbSize(100, 32, 8)).toBe(40);
  });
});

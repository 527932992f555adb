import { describe, expect, it } from 'vitest';
import { firstChoiceCounts, firstChoiceFlows, sankeyLayout } from './flows.ts';
import { makeRouting } from '../tests/browser/viz-fixtures.ts';

describe('first-choice flows and their Sankey layout', () => {
  const data = makeRouting(50, { layers: 4, experts: 8, topK: 2 });

  it('counts every token once per layer and once per layer pair', () => {
    const counts = firstChoiceCounts(data), flows = firstChoiceFlows(data);
    expect(counts).toHaveLength(4);
    for (const c of counts) expect(c.reduce((a, b) => a + b, 0)).toBe(50);
    expect(flows).toHaveLength(3);
    flows.forEach((m, l) => {
      // Row sums are the source layer's counts, column sums the target layer's.
      expect(m.map((r) => r.reduce((a, b) => a + b, 0))).toEqual(counts[l]);
      expect(m[0].map((_, b) => m.reduce((s, r) => s + r[b], 0))).toEqual(counts[l + 1]);
    });
  });

  it('fills the height with nodes in expert order, heights proportional to counts', () => {
    const { nodes } = sankeyLayout(firstChoiceCounts(data), firstChoiceFlows(data), 200, 4);
    for (let l = 0; l < 4; l++) {
      const col = nodes.filter((n) => n.layer === l);
      expect(col.map((n) => n.expert)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(col[7].y1).toBeCloseTo(200, 6);
      const k = (200 - 4 * 7) / 50;
      for (const n of col) expect(n.y1 - n.y0).toBeCloseTo(n.count * k, 6);
      for (let e = 1; e < 8; e++) expect(col[e].y0).toBeCloseTo(col[e - 1].y1 + 4, 6);
    }
  });

  it('stacks ribbons inside their nodes without overlap, exactly filling each node on both sides', () => {
    const { nodes, ribbons } = sankeyLayout(firstChoiceCounts(data), firstChoiceFlows(data), 200, 4);
    for (const n of nodes) {
      const out = ribbons.filter((r) => r.layer === n.layer && r.source === n.expert).sort((a, b) => a.sy0 - b.sy0);
      const inn = ribbons.filter((r) => r.layer === n.layer - 1 && r.target === n.expert).sort((a, b) => a.ty0 - b.ty0);
      for (const [side, list, y0, y1] of [['out', out, 'sy0', 'sy1'], ['in', inn, 'ty0', 'ty1']] as const) {
        if (!list.length || (side === 'out' && n.layer === 3) || (side === 'in' && n.layer === 0)) continue;
        expect(list[0][y0]).toBeCloseTo(n.y0, 6);
        for (let i = 1; i < list.length; i++) expect(list[i][y0]).toBeCloseTo(list[i - 1][y1], 6);
        expect(list[list.length - 1][y1]).toBeCloseTo(n.y1, 6);
      }
    }
  });

  it('lays out nothing but empty nodes for zero tokens', () => {
    const empty = makeRouting(0, { layers: 2 });
    const { nodes, ribbons } = sankeyLayout(firstChoiceCounts(empty), firstChoiceFlows(empty), 100, 2);
    expect(ribbons).toEqual([]);
    expect(nodes.every((n) => n.y1 === n.y0)).toBe(true);
  });
});

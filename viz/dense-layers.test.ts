// Views given a model with a dense layer (no router: `dense: true`, as layerRouting gives it):
// what they leave out and what they say, as pure functions of the data.
import { describe, expect, it } from 'vitest';
import { expertLoad } from './load.ts';
import { denseLayerNote, sparseLayers } from './routing.ts';
import { firstChoiceCounts } from './flows.ts';
import { routedColumns } from './routing-paths.ts';
import { expertPaint, paintFromCounts, choiceCounts } from './many-experts.ts';
import { makeRouting } from '../tests/browser/viz-fixtures.ts';
import { denseLayerRouting } from '../engine/routing/routing.ts';

const withDense = (E: number, K: number, dense: number[]) => {
  const data = makeRouting(20, { layers: 4, experts: E, topK: K });
  for (const l of dense) data.layers[l] = denseLayerRouting();
  return data;
};

describe('a dense layer in the views', () => {
  it('has no expert-load rows, and the layers that route are counted as before', () => {
    const data = withDense(8, 2, [2]);
    const load = expertLoad(data);
    expect([...new Set(load.map((r) => r.layer))]).toEqual([0, 1, 3]);
    expect(load.filter((r) => r.layer === 1).reduce((s, r) => s + r.first, 0)).toBe(20);
  });

  it('is named by the one-layer views, with the layers that route; a sparse layer gives no note', () => {
    const data = withDense(8, 2, [0, 2]);
    expect(sparseLayers(data)).toEqual([1, 3]);
    expect(denseLayerNote(data, 2)).toBe('Layer 2 is dense: every token goes through one feed-forward network, with no router and no experts. Layers that route: 1, 3.');
    expect(denseLayerNote(data, 1)).toBeNull();
  });

  it('is not a column of the routing paths: columns are the layers that route, mapped to their indices', () => {
    const data = withDense(64, 8, [2]);
    const { data: cols, ids } = routedColumns(data);
    expect(ids).toEqual([0, 1, 3]);
    expect(cols.layers).toEqual([data.layers[0], data.layers[1], data.layers[3]]);
    expect(firstChoiceCounts(cols).map((c) => c.reduce((a, b) => a + b, 0))).toEqual([20, 20, 20]);
    // Without dense layers the data is drawn as it is.
    const all = makeRouting(10, { layers: 3 });
    expect(routedColumns(all).data).toBe(all);
  });

  it('leaves the many-experts paint to the layers that route; paintFromCounts is the same paint from counts', () => {
    const data = withDense(128, 8, [1]);
    const paint = expertPaint(data, null);
    const again = paintFromCounts(128, choiceCounts(data, null));
    expect(again.focus).toEqual(paint.focus);
    expect(paint.focus).toHaveLength(7);
    expect(Array.from({ length: 128 }, (_, e) => again.color(e))).toEqual(Array.from({ length: 128 }, (_, e) => paint.color(e)));
  });
});

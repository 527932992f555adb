import { describe, expect, it } from 'vitest';
import { compareRouting, jaccard } from './compare-routing.ts';
import { CpuEngine } from '../cpu/engine.ts';
import { denseLayerRouting, layerRouting, routingHooks, type RoutingData } from '../routing/routing.ts';
import { randomWeights, tinyConfig } from '../../tests/helpers/random-model.ts';

const tokens = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i, text: `${i}`, piece: `${i}`, position: i, generated: false }));
const routing = (layers: number[][], K: number): RoutingData => ({
  tokens: tokens(layers[0].length / K), experts: 4, topK: K,
  layers: layers.map((ix) => ({ indices: Int32Array.from(ix), weights: new Float32Array(ix.length), probs: new Float32Array((ix.length / K) * 4) })),
});

describe('comparing two runs\' routing', () => {
  it('per layer: same sets, mean Jaccard, same first choice; per position: the layers that changed', () => {
    // Three tokens, top-2, two layers.
    const a = routing([[0, 1, 2, 3, 1, 2], [0, 1, 0, 1, 0, 1]], 2);
    const b = routing([[1, 0, 2, 0, 3, 0], [0, 1, 0, 1, 0, 1]], 2);
    const d = compareRouting(a, b);
    expect(d.tokens).toBe(3);
    expect(d.layers[0]!.same_set).toBeCloseTo(1 / 3, 12);        // {0,1} = {1,0}
    expect(d.layers[0]!.jaccard).toBeCloseTo((1 + 1 / 3 + 0) / 3, 12);
    expect(d.layers[0]!.same_first).toBeCloseTo(1 / 3, 12); // token 1: 2 first in both
    expect(d.layers[1]).toEqual({ same_set: 1, jaccard: 1, same_first: 1 });
    expect(d.changed).toEqual([[], [0], [0]]);
    expect(jaccard(new Set([1, 2]), new Set([2, 3]))).toBeCloseTo(1 / 3, 12);
  });

  it('a run compared with itself is identical; an intervention shows where it changed the route', async () => {
    const c = tinyConfig();
    const engine = new CpuEngine(c, randomWeights(c, 2));
    const ids = [1, 4, 9, 16, 25, 36];
    const run = async (interventions = []) => {
      const r = await engine.forward(ids, { hooks: routingHooks(), interventions });
      return { tokens: tokens(ids.length), experts: c.num_local_experts, topK: c.num_experts_per_tok, layers: layerRouting(c, r.hooks) };
    };
    const plain = await run();
    expect(compareRouting(plain, await run()).layers.every((l) => l?.same_set === 1)).toBe(true);
    const forced = await run([{ kind: 'force_experts', layer: 1, experts: [2, 3], positions: [2] }] as never);
    const d = compareRouting(plain, forced);
    const wasSame = Array.from(plain.layers[1].indices.subarray(4, 6)).sort().join() === '2,3';
    expect(d.changed[2].includes(1)).toBe(!wasSame);
    expect(d.changed[0]).toEqual([]);
    expect(d.changed[1]).toEqual([]);
  });

  it('a dense layer (no router in either run) is null and changes no position', () => {
    const a = routing([[0, 1, 2, 3], [0, 1, 0, 1]], 2), b = routing([[0, 1, 2, 3], [1, 2, 0, 1]], 2);
    a.layers[1] = denseLayerRouting();
    b.layers[1] = denseLayerRouting();
    const d = compareRouting(a, b);
    expect(d.layers[0]).toEqual({ same_set: 1, jaccard: 1, same_first: 1 });
    expect(d.layers[1]).toBeNull();
    expect(d.changed).toEqual([[], []]);
  });
});

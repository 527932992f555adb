// The routing analysis on a family with a dense layer among sparse ones and many experts: null for
// the dense layer, no transition into it, the sparse layers counted as layerRoutingStats counts
// them, and the random baselines for the model's own E and K.
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CpuEngine } from '../cpu/engine.ts';
import { loadModelDirectory } from '../node.ts';
import { analyzeRouting } from './analyze-routing.ts';
import { layerRoutingStats, randomRepeatRates } from './routing-stats.ts';
import { layerRouting, routingHooks } from '../routing/routing.ts';
import { tinyFamilyConfig, writeFamilyCheckpoint } from '../../tests/helpers/family-checkpoint.ts';

describe('analyze on a model with a dense layer', () => {
  it('gives null for the dense layer, no transition into it, and baselines for the model\'s E and K', async () => {
    const dir = writeFamilyCheckpoint(mkdtempSync(path.join(tmpdir(), 'mixscope-analyze-dense-')), tinyFamilyConfig('qwen3_moe', { num_hidden_layers: 4, mlp_only_layers: [2] }));
    const { config: c, weights } = await loadModelDirectory(dir);
    const engine = new CpuEngine(c, weights);
    const ids = Array.from({ length: 30 }, (_, i) => 3 + ((i * 11) % 200));
    const r = await analyzeRouting(engine, ids);
    expect({ experts: r.experts, top_k: r.top_k }).toEqual({ experts: 128, top_k: 8 });
    expect(r.random).toEqual(randomRepeatRates(128, 8));
    expect(r.layers[2]).toBeNull();
    expect(r.layers[0]!.transition).toBeDefined();
    expect(r.layers[1]!.transition).toBeUndefined();
    expect(r.layers[3]!.transition).toBeUndefined();
    const fw = await engine.forward(ids, { hooks: routingHooks() });
    const routed = layerRouting(c, fw.hooks);
    for (const l of [0, 1, 3]) {
      const s = layerRoutingStats(routed[l].indices, 8, 128);
      expect(r.layers[l]!.topk_share).toEqual(s.topk_share);
      expect(r.layers[l]!.repeat_first).toBe(s.repeat_first);
    }
  });
});

// The logit lens against its definition: the PyTorch reference's residual streams read through
// the final norm and lm_head in float64, the model's own output at the last layer, and each
// chosen expert's output read the same way.
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../cpu/engine.ts';
import { loadModelDirectory } from '../node.ts';
import type { ExpertChoice, HookTensor } from '../hooks/request.ts';
import { goldenCases } from '../../tests/golden/fixtures.ts';
import { randomWeights, tinyConfig } from '../../tests/helpers/random-model.ts';
import { readOut, softmax } from '../../tests/helpers/research-definitions.ts';
import { LENS_HOOKS, lensFromHooks, lensHead, logitLens, topIds } from './logit-lens.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tinyFamilyConfig, writeFamilyCheckpoint } from '../../tests/helpers/family-checkpoint.ts';

describe('topIds', () => {
  it('gives the n largest, largest first, ties to the lower id', () => {
    expect(topIds([1, 5, 3, 5, 0, 4], 3)).toEqual([1, 3, 5]);
    expect(topIds([2, 2, 2], 2)).toEqual([0, 1]);
    expect(topIds([0.5], 1)).toEqual([0]);
  });
});

describe.each(goldenCases().map((g) => [g.name, g] as const))('the lens on %s', (_name, g) => {
  it('reads the PyTorch reference\'s residual stream as its definition says, and the last layer is the model\'s output', async () => {
    const ckpt = await loadModelDirectory(g.dir);
    const c = ckpt.config, V = c.vocab_size;
    const engine = new CpuEngine(c, ckpt.weights);
    const top = 4;
    const lens = await logitLens(engine, lensHead(c, ckpt.weights), g.expected.ids, { top });
    expect(lens.tokens).toEqual(g.expected.ids.map(String));
    expect(lens.layers).toHaveLength(c.num_hidden_layers);
    lens.layers.forEach((layer, l) => layer.resid.forEach((got, t) => {
      const ref = softmax(readOut(g.expected.resid_post[l][t], ckpt.weights.norm, ckpt.weights.lm_head, c.rms_norm_eps, V));
      const nth = [...ref].sort((a, b) => b - a)[top - 1];
      expect(got).toHaveLength(top);
      for (const x of got) {
        expect(x.prob, `layer ${l} position ${t} token ${x.id}`).toBeCloseTo(ref[x.id], 4);
        expect(ref[x.id]).toBeGreaterThanOrEqual(nth - 1e-4);
      }
    }));
    // The last layer's lens is the model's next-token distribution.
    const out = await engine.forward(g.expected.ids, { output: 'all' });
    lens.layers.at(-1)!.resid.forEach((got, t) => {
      const p = softmax(Array.from(out.logits.subarray(t * V, (t + 1) * V)));
      got.forEach((x) => expect(x.prob).toBeCloseTo(p[x.id], 12));
      expect(got[0].id).toBe(topIds(out.logits.subarray(t * V, (t + 1) * V), 1)[0]);
    });
  });
});

describe('the expert lens', () => {
  it('reads each chosen expert\'s own output (before weighting) through the final norm and lm_head', async () => {
    const c = tinyConfig({ num_local_experts: 6, num_experts_per_tok: 3 });
    const w = randomWeights(c, 4);
    const engine = new CpuEngine(c, w);
    const ids = [1, 7, 9, 30, 2, 44, 12];
    const r = await engine.forward(ids, { hooks: LENS_HOOKS });
    const layers = lensFromHooks(c, lensHead(c, w), r.hooks, { top: 3, piece: (id) => `p${id}` });
    const K = c.num_experts_per_tok, D = c.hidden_size;
    layers.forEach((layer, l) => {
      const out = (r.hooks.get(`blocks.${l}.moe.hook_expert_out`) as HookTensor).data;
      const choice = r.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice;
      layer.experts.forEach((row, t) => {
        expect(row.map((x) => x.expert)).toEqual(Array.from(choice.indices.subarray(t * K, (t + 1) * K)));
        expect(row.map((x) => x.weight)).toEqual(Array.from(choice.weights.subarray(t * K, (t + 1) * K)));
        row.forEach((x, k) => {
          const ref = readOut(out.subarray((t * K + k) * D, (t * K + k + 1) * D), w.norm, w.lm_head, c.rms_norm_eps, c.vocab_size);
          const best = ref.map((v, id) => ({ v, id })).sort((a, b) => b.v - a.v || a.id - b.id).slice(0, 3);
          expect(x.top.map((y) => y.id)).toEqual(best.map((b) => b.id));
          x.top.forEach((y, i) => { expect(y.logit).toBeCloseTo(best[i].v, 4); expect(y.piece).toBe(`p${y.id}`); });
        });
      });
    });
    expect(() => lensFromHooks(c, lensHead(c, w), new Map(), {})).toThrow(/did not observe blocks.0.hook_resid_post/);
    expect(() => lensFromHooks(c, lensHead(c, w), r.hooks, { top: 0 })).toThrow(/top must be an integer/);
  });
});

describe('the lens on the families', () => {
  it('reads no experts in a dense layer, and its last layer is the model\'s output (Granite\'s logits divided by logits_scaling)', async () => {
    for (const [family, over] of [['qwen2_moe', { mlp_only_layers: [1] }], ['granitemoe', { logits_scaling: 4 }]] as const) {
      const dir = writeFamilyCheckpoint(mkdtempSync(path.join(tmpdir(), `mixscope-lens-${family}-`)), tinyFamilyConfig(family, { num_hidden_layers: 3, ...over }));
      const { config: c, weights } = await loadModelDirectory(dir);
      const engine = new CpuEngine(c, weights);
      const ids = [1, 40, 41, 90, 7];
      const lens = await logitLens(engine, lensHead(c, weights), ids, { top: 3 });
      lens.layers.forEach((layer, l) => layer.experts.forEach((row) => expect(row, `${family} layer ${l}`).toHaveLength(family === 'qwen2_moe' && l === 1 ? 0 : c.num_experts_per_tok)));
      const out = await engine.forward(ids, { output: 'all' });
      const V = c.vocab_size;
      lens.layers.at(-1)!.resid.forEach((got, t) => {
        const p = softmax(Array.from(out.logits.subarray(t * V, (t + 1) * V)));
        got.forEach((x) => expect(x.prob, family).toBeCloseTo(p[x.id], 6));
      });
    }
  });
});

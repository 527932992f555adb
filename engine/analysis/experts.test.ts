// Expert reports against a plain re-computation of their definitions from forward hooks.
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../cpu/engine.ts';
import { routeLongText } from './long-text-routing.ts';
import { contextText, expertReport } from './experts.ts';
import type { ExpertChoice } from '../hooks/request.ts';
import { randomWeights, tinyConfig } from '../../tests/helpers/random-model.ts';
import { expertsByDefinition } from '../../tests/helpers/research-definitions.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModelDirectory } from '../node.ts';
import { tinyFamilyConfig, writeFamilyCheckpoint } from '../../tests/helpers/family-checkpoint.ts';

const c = tinyConfig({ vocab_size: 12, num_local_experts: 6, num_experts_per_tok: 2, max_position_embeddings: 64 });
const engine = new CpuEngine(c, randomWeights(c, 11));
const E = c.num_local_experts, K = c.num_experts_per_tok;

describe('expert reports', () => {
  it('match the definitions recomputed from one forward\'s expert choices', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => [1, 3, 4, 4, 5, 7, 3, 9, 4, 10, 11, 3][i % 12] + (i % 7 === 0 ? 1 : 0));
    const r = await expertReport(engine, [ids], { top: 4, minCount: 3 });
    const fw = await engine.forward(ids, { hooks: ['blocks.*.moe.hook_expert_choice'] });
    const layers = Array.from({ length: c.num_hidden_layers }, (_, l) => fw.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice);
    const texts = ids.map((v) => (v === 1 ? String(v) : String(v))); // no tokenizer: each token shows its id
    expect({ tokens: r.tokens, experts: r.experts, top_k: r.top_k }).toEqual({ tokens: 60, experts: E, top_k: K });
    expect(r.layers).toEqual(expertsByDefinition(ids, layers, texts, K, E, 4, 3, String));
    for (const layer of r.layers) {
      expect(layer!.experts.reduce((a, x) => a + x.topk_share, 0)).toBeCloseTo(1, 12);
      expect(layer!.experts.reduce((a, x) => a + x.first_share, 0)).toBeCloseTo(1, 12);
    }
  });

  it('route a long corpus as analyze does, count across documents, and never cut a context across one', async () => {
    const doc = (seed: number, n: number) => Array.from({ length: n }, (_, i) => 1 + ((i * seed + 3) % (c.vocab_size - 1)));
    const docs = [doc(5, 150), doc(7, 40)];
    const progress: [number, number][] = [];
    const r = await expertReport(engine, docs, { top: 6, minCount: 5, onProgress: (d, t) => progress.push([d, t]) });
    expect(progress.at(-1)).toEqual([progress.length, progress.length]);
    expect(progress.length).toBe(4); // 150 tokens: 3 windows of 64 with 5 of context; 40: one
    const routed = await Promise.all(docs.map((d) => routeLongText(engine, d)));
    const layers = routed[0].layers.map((L, l) => ({
      indices: Int32Array.from([...L.indices, ...routed[1].layers[l].indices]),
      weights: Float32Array.from([...L.weights, ...routed[1].layers[l].weights]),
    }));
    const ids = docs.flat();
    const expected = expertsByDefinition(ids, layers, ids.map(String), K, E, 6, 5, String);
    // Contexts stop at the edge between the documents.
    const docOf = ids.map((_, i) => (i < 150 ? 0 : 1));
    expected.forEach((layer) => layer.experts.forEach((x) => x.top_contexts.forEach((ctx) => { ctx.text = contextText(ids.map(String), docOf, ctx.position); })));
    expect(r.layers).toEqual(expected);
    expect(contextText(['a', 'b', 'c', 'd'], [0, 0, 1, 1], 2)).toBe('⟨c⟩d');
    expect(contextText(['a', 'b', 'c', 'd'], [0, 0, 1, 1], 1)).toBe('a⟨b⟩');
    // Per document: its own shares, as analyze counts them.
    expect(r.documents.map((d) => d.tokens)).toEqual([150, 40]);
    expect(r.documents[1].topk_share[0]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('an expert never chosen has lift 0 for every token; bad options and cancellation are clear', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => 1 + (i % 5));
    // A router whose gate row for expert 5 is zero and the others large: expert 5 (logit 0) loses to
    // the two largest of five large logits, positive for these tokens.
    const w = randomWeights(c, 11);
    for (const lw of w.layers) lw.gate = lw.gate.map((x, i) => (Math.floor(i / c.hidden_size) === 5 ? 0 : 50 * x));
    const r = await expertReport(new CpuEngine(c, w), [ids], { top: 3, minCount: 1 });
    const unused = r.layers.flatMap((layer) => layer!.experts.filter((x) => x.topk_share === 0));
    expect(unused.length).toBeGreaterThan(0);
    for (const x of unused) {
      expect(x.top_tokens).toHaveLength(3);
      expect(x.top_tokens.every((t) => t.lift === 0 && t.count === 0)).toBe(true);
      expect(x.top_contexts).toEqual([]);
    }
    await expect(expertReport(engine, [ids], { top: 0 })).rejects.toThrow(/top must be a positive integer/);
    await expect(expertReport(engine, [ids], { minCount: 1.5 })).rejects.toThrow(/minCount/);
    await expect(expertReport(engine, [[]])).rejects.toThrow(/at least one token/);
    const ac = new AbortController();
    ac.abort();
    await expect(expertReport(engine, [ids], { signal: ac.signal })).rejects.toThrow(/abort/i);
  });

  it('give null for a dense layer (it routes nothing), as analyze does, and count the sparse ones as before', async () => {
    const dir = writeFamilyCheckpoint(mkdtempSync(path.join(tmpdir(), 'mixscope-experts-dense-')), tinyFamilyConfig('qwen2_moe', { num_hidden_layers: 3, mlp_only_layers: [1] }));
    const { config: fc, weights } = await loadModelDirectory(dir);
    const fe = new CpuEngine(fc, weights);
    const ids = Array.from({ length: 40 }, (_, i) => 3 + ((i * 7) % 50));
    const r = await expertReport(fe, [ids], { top: 3, minCount: 2 });
    expect(r.layers[1]).toBeNull();
    expect(r.documents[0].first_share[1]).toBeNull();
    expect(r.documents[0].topk_share[1]).toBeNull();
    const fw = await fe.forward(ids, { hooks: ['blocks.*.moe.hook_expert_choice'] });
    for (const l of [0, 2]) {
      const choice = fw.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice;
      const K2 = fc.num_experts_per_tok, E2 = fc.num_local_experts;
      const [expected] = expertsByDefinition(ids, [choice], ids.map(String), K2, E2, 3, 2, String);
      expect(r.layers[l]).toEqual(expected);
      expect(r.documents[0].topk_share[l]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
  });
});

// The embedded default model (models/mixscope-tiny) in the TypeScript CPU engine, against the
// PyTorch training code's own numbers (tests/fixtures/default-model-parity.json, written by
// training/export.py from the same F16 weights).
import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { directorySource } from '../../engine/node.ts';
import { loadModel } from '../../engine/model.ts';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { generate } from '../../engine/generate.ts';
import { layerRouting, routingHooks } from '../../engine/routing/routing.ts';
import { countParameters } from '../../engine/params.ts';
import type { ExpertChoice } from '../../engine/hooks/request.ts';
import type { Model } from '../../engine/model.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const parity = JSON.parse(readFileSync(`${root}tests/fixtures/default-model-parity.json`, 'utf8')) as {
  snippets: { domain: string; ids: number[]; last_logits: number[]; columns: number[]; sampled_logits: number[][]; experts: number[][][]; topk_margin: number[][] }[];
  greedy: { domain: string; prompt: string; prompt_ids: number[]; tokens: number[] }[];
};
const TOL = 2e-3;

describe('the default model', () => {
  let model: Model;
  let engine: CpuEngine;
  let loadMs = 0;
  beforeAll(async () => {
    const t = performance.now();
    model = await loadModel(directorySource(`${root}models/mixscope-tiny`));
    loadMs = performance.now() - t;
    engine = new CpuEngine(model.config, model.weights);
  });

  it('is a real Mixtral of at most 12 M parameters: 8 experts, top-2, GQA, sliding window, untied lm_head', () => {
    const c = model.config;
    console.log(`[default-model] loaded in ${loadMs.toFixed(0)} ms; ${model.parameters.total} parameters, ${model.parameters.activePerToken} active per token`);
    expect(c.num_local_experts).toBe(8);
    expect(c.num_experts_per_tok).toBe(2);
    expect(c.num_attention_heads).toBeGreaterThan(c.num_key_value_heads);
    expect(c.rope_theta).toBe(1e6);
    expect(c.sliding_window).toBeLessThan(c.max_position_embeddings);
    expect(c.tie_word_embeddings).toBe(false);
    expect(countParameters(c).total).toBeLessThanOrEqual(12_000_000);
    expect(model.dtypeBytes).toEqual({ F16: 2 * countParameters(c).total });
    expect(model.tokenizer?.vocabSize).toBe(c.vocab_size);
  });

  it.each(parity.snippets.map((s) => [s.domain, s] as const))('logits on held-out %s text match PyTorch within 2e-3', async (_d, s) => {
    const r = await engine.forward(s.ids, { output: 'all', hooks: ['blocks.*.moe.hook_expert_choice'] });
    const V = model.config.vocab_size;
    let worst = 0;
    for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(r.logits[(s.ids.length - 1) * V + v] - s.last_logits[v]));
    s.sampled_logits.forEach((row, t) => row.forEach((x, j) => { worst = Math.max(worst, Math.abs(r.logits[t * V + s.columns[j]] - x)); }));
    console.log(`[default-model] ${s.domain}: max |logit diff| ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(TOL);
    // Expert choices agree wherever the router is not at a near-tie.
    s.experts.forEach((layer, l) => {
      const choice = r.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice;
      layer.forEach((pair, t) => {
        if (s.topk_margin[l][t] > 1e-3) expect(new Set([choice.indices[2 * t], choice.indices[2 * t + 1]])).toEqual(new Set(pair));
      });
    });
  });

  it.each(parity.greedy.map((g) => [g.domain, g] as const))('greedy 64 tokens from a %s prompt are the same as PyTorch', async (_d, g) => {
    expect(model.tokenizer!.encode(g.prompt).ids).toEqual(g.prompt_ids);
    const tokens: number[] = [];
    for await (const step of generate({ engine, tokenizer: model.tokenizer!, prompt: g.prompt }, { maxTokens: 64, temperature: 0, stopAtEos: false })) {
      tokens.push(step.token);
    }
    expect(tokens).toEqual(g.tokens);
  });

  it('no expert collapse: every expert gets 3%..35% of first choices in every layer over held-out text', async () => {
    const L = model.config.num_hidden_layers, E = model.config.num_local_experts;
    const counts = Array.from({ length: L }, () => new Array(E).fill(0));
    for (const d of ['c', 'english', 'german', 'manpages', 'math', 'python']) {
      const text = readFileSync(`${root}training/data/heldout/${d}.txt`, 'utf8');
      const ids = model.tokenizer!.encode(text).ids.slice(0, 256);
      const r = await engine.forward(ids, { hooks: routingHooks() });
      layerRouting(model.config, r.hooks).forEach((c, l) => {
        for (let t = 0; t < ids.length; t++) counts[l][c.indices[2 * t]]++;
      });
    }
    for (let l = 0; l < L; l++) {
      const total = counts[l].reduce((a, b) => a + b, 0);
      const shares = counts[l].map((c) => c / total);
      console.log(`[default-model] layer ${l} first-choice shares: ${shares.map((x) => (100 * x).toFixed(1)).join(' ')}`);
      for (const x of shares) { expect(x).toBeGreaterThanOrEqual(0.03); expect(x).toBeLessThanOrEqual(0.35); }
    }
  }, 120_000);
});

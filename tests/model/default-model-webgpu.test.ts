// The default model on the WebGPU engine (Dawn in Node) against the CPU engine: logits on
// held-out text within 1e-3, the same expert choices wherever the CPU's top-k margin exceeds
// 1e-4, the same 128-token greedy continuations, and the same sampled continuation and
// candidates for the same seed (the GPU draws on the device, the CPU from the logits: one procedure).
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { directorySource } from '../../engine/node.ts';
import { loadModel } from '../../engine/model.ts';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { WebGpuEngine } from '../../engine/webgpu/engine.ts';
import { generate } from '../../engine/generate.ts';
import type { Model } from '../../engine/model.ts';
import { requestNodeDevice, type NodeGpu } from '../gpu/node-webgpu.ts';
import { noAdapter } from '../gpu/ci-policy.ts';
import { expertChoiceFlips, maxAbsDiff } from '../helpers/parity.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const parity = JSON.parse(readFileSync(`${root}tests/fixtures/default-model-parity.json`, 'utf8')) as {
  snippets: { domain: string; ids: number[] }[];
  greedy: { domain: string; prompt: string }[];
};

describe('the default model on WebGPU (Dawn)', () => {
  let gpu: NodeGpu | { reason: string };
  let model: Model, cpu: CpuEngine, engine: WebGpuEngine;
  let worst = 0;
  beforeAll(async () => {
    model = await loadModel(directorySource(`${root}models/mixscope-tiny`));
    cpu = new CpuEngine(model.config, model.weights);
    gpu = await requestNodeDevice();
    if (!('reason' in gpu)) engine = await WebGpuEngine.create(gpu.device, model.config, model.weights, { weights: 'f16' });
  });
  afterAll(() => {
    console.log(`[default-model:webgpu] largest |logit diff| vs CPU: ${worst.toExponential(2)}`);
    engine?.dispose();
    if (gpu && !('reason' in gpu)) gpu.device.destroy();
  });
  const ready = (ctx: TestContext) => { if ('reason' in gpu) noAdapter('default model on WebGPU', gpu.reason, (m) => ctx.skip(m)); };

  it.for(parity.snippets.map((s) => [s.domain, s] as const))('%s held-out text: logits within 1e-3, same experts', async ([, s], ctx) => {
    ready(ctx);
    const hooks = ['blocks.*.moe.hook_expert_choice', 'blocks.*.moe.hook_router_probs'];
    const [a, b] = await Promise.all([engine.forward(s.ids, { output: 'all', hooks }), cpu.forward(s.ids, { output: 'all', hooks })]);
    const diff = maxAbsDiff(a.logits, b.logits);
    worst = Math.max(worst, diff);
    expect(diff).toBeLessThanOrEqual(1e-3);
    const { num_hidden_layers: L, num_local_experts: E, num_experts_per_tok: K } = model.config;
    const { compared, flips } = expertChoiceFlips(a.hooks, b.hooks, L, E, K);
    expect(compared).toBeGreaterThan(0);
    expect(flips).toEqual([]);
  });

  it.for(parity.greedy.map((g) => [g.domain, g] as const))('greedy 128 tokens from the %s prompt are identical', { timeout: 300_000 }, async ([, g], ctx) => {
    ready(ctx);
    const run = async (e: CpuEngine | WebGpuEngine) => {
      const out: number[] = [];
      for await (const step of generate({ engine: e, tokenizer: model.tokenizer!, prompt: g.prompt }, { maxTokens: 128, temperature: 0, stopAtEos: false })) out.push(step.token);
      return out;
    };
    expect(await run(engine)).toEqual(await run(cpu));
  });

  it('a sampled continuation (temperature 0.8, top-k 40, top-p 0.95, seed 11) and its candidates are identical', { timeout: 300_000 }, async (ctx) => {
    ready(ctx);
    const g = parity.greedy[0];
    const run = async (e: CpuEngine | WebGpuEngine) => {
      const out: { token: number; candidates: number[]; probs: number[] }[] = [];
      for await (const step of generate({ engine: e, tokenizer: model.tokenizer!, prompt: g.prompt }, { maxTokens: 48, temperature: 0.8, topK: 40, topP: 0.95, seed: 11, candidates: 5, stopAtEos: false })) {
        out.push({ token: step.token, candidates: step.candidates.map((c) => c.id), probs: step.candidates.map((c) => c.prob) });
      }
      return out;
    };
    const [a, b] = [await run(engine), await run(cpu)];
    expect(a.map((s) => s.token)).toEqual(b.map((s) => s.token));
    expect(a.map((s) => s.candidates)).toEqual(b.map((s) => s.candidates));
    // Probabilities from logits within 1e-3 of each other: equal where the logits round alike, close elsewhere.
    for (let i = 0; i < a.length; i++) expect(maxAbsDiff(a[i].probs, b[i].probs)).toBeLessThanOrEqual(1e-3);
  });
});

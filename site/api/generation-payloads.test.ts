import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import type { ExpertChoice, HookTensor } from '../../engine/hooks/request.ts';
import { tinyConfig, randomWeights } from '../../tests/helpers/random-model.ts';
import { generationPayloads } from './generation-payloads.ts';
import { runTrace, crossEntropy } from './run-trace.ts';
import { GenerationAccumulator, buildTrace } from './accumulator.ts';
import type { GenerateRequestOptions } from './protocol.ts';
import type { GenerationState } from './types.ts';

const config = tinyConfig({ max_position_embeddings: 40 });
const engine = new CpuEngine(config, randomWeights(config, 7));
/** The worker's path: payloads from the engine's loop, accumulated as the page does. `stopAfter` aborts after that many payloads. */
async function generateAll(prompt: number[], o: GenerateRequestOptions, stopAfter = Infinity): Promise<GenerationState[]> {
  const acc = new GenerationAccumulator(config);
  const states: GenerationState[] = [];
  const stop = new AbortController();
  for await (const p of generationPayloads(engine, null, prompt, o, stop.signal)) {
    acc.apply(p);
    states.push(acc.snapshot());
    if (states.length >= stopAfter) stop.abort();
  }
  return states;
}

describe('generation payloads and their accumulation', () => {
  const prompt = [1, 5, 9, 12, 30, 7];

  it('routes every token, prompt and generated, exactly as one forward over the whole sequence does', async () => {
    const states = await generateAll(prompt, { maxTokens: 9, temperature: 0, seed: 1 });
    const last = states[states.length - 1];
    expect(last.done).toBe(true);
    expect(last.finish).toBe('length');
    expect(last.step).toBe(9);
    expect(last.tokens.map((t) => t.generated)).toEqual([...prompt.map(() => false), ...Array(9).fill(true)]);
    expect(last.routing.tokens.length).toBe(prompt.length + 9);
    const ids = last.tokens.map((t) => t.id);
    const whole = await engine.forward(ids, { hooks: ['blocks.*.moe.hook_expert_choice', 'blocks.*.moe.hook_router_probs', 'blocks.*.attn.hook_pattern'] });
    for (let l = 0; l < config.num_hidden_layers; l++) {
      const choice = whole.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice;
      const probs = whole.hooks.get(`blocks.${l}.moe.hook_router_probs`) as HookTensor;
      expect([...last.routing.layers[l].indices]).toEqual([...choice.indices]);
      expect(maxDiff(last.routing.layers[l].probs, probs.data)).toBeLessThan(1e-5);
      expect(maxDiff(last.routing.layers[l].weights, choice.weights)).toBeLessThan(1e-5);
      const att = last.attention(l);
      const pattern = whole.hooks.get(`blocks.${l}.attn.hook_pattern`) as HookTensor;
      expect(att.pattern.length).toBe(pattern.data.length);
      expect(maxDiff(att.pattern, pattern.data)).toBeLessThan(1e-5);
      expect(att.slidingWindow).toBe(config.sliding_window);
    }
  });

  it('grows by one token per step and reports the next-token distribution of the chosen token', async () => {
    const states = await generateAll(prompt, { maxTokens: 4, temperature: 0, candidates: 5 });
    // 4 sampled steps, then the closing call that routes the last token.
    expect(states.map((s) => s.tokens.length)).toEqual([7, 8, 9, 10, 10]);
    expect(states.map((s) => s.routing.tokens.length)).toEqual([6, 7, 8, 9, 10]);
    for (const s of states.slice(0, 4)) {
      expect(s.next.candidates).toHaveLength(5);
      expect(s.next.candidates[0].id).toBe(s.next.chosen); // greedy picks the best candidate
      const probs = s.next.candidates.map((c) => c.prob);
      expect(probs).toEqual([...probs].sort((a, b) => b - a));
    }
  });

  it('stops between tokens when asked', async () => {
    // Aborted while the page handles the second step: the next step is the last.
    const states = await generateAll(prompt, { maxTokens: 20, temperature: 0 }, 2);
    const last = states[states.length - 1];
    expect(last.finish).toBe('stopped');
    expect(last.step).toBe(3);
    expect(last.routing.tokens.length).toBe(prompt.length + 3);
  });

  it('ends with finish "context" when the model\'s window is full, every token routed', async () => {
    // 40 positions: a 30-token prompt leaves room for 10 tokens, fewer than asked.
    const long = Array.from({ length: 30 }, (_, i) => 3 + ((i * 7) % 40));
    const states = await generateAll(long, { maxTokens: 20, temperature: 0 });
    const last = states[states.length - 1];
    expect(last.finish).toBe('context');
    expect(last.step).toBe(10);
    expect(last.tokens.length).toBe(40);
    expect(last.routing.tokens.length).toBe(40);
  });

  it('returns extra hooks by name and applies interventions', async () => {
    const states = await generateAll(prompt, { maxTokens: 2, temperature: 0, hooks: ['blocks.1.hook_resid_post'], interventions: [{ kind: 'ablate_experts', layer: 0, experts: [0, 1] }] });
    expect(states[0].hooks['blocks.1.hook_resid_post'].shape).toEqual([prompt.length, config.hidden_size]);
    // Hooks come as the engine gives them: an expert choice keeps `indices` and `weights`.
    const withChoice = await generateAll(prompt, { maxTokens: 1, temperature: 0, hooks: ['blocks.0.moe.hook_expert_choice'] });
    const choice = withChoice[0].hooks['blocks.0.moe.hook_expert_choice'] as ExpertChoice;
    expect(choice.indices).toBeInstanceOf(Int32Array);
    expect(choice.weights.length).toBe(prompt.length * config.num_experts_per_tok);
    for (const x of states[states.length - 1].routing.layers[0].indices) expect(x).toBeGreaterThanOrEqual(2);
  });

  it('rejects empty, too long and impossible requests with clear errors', async () => {
    await expect(generateAll([], {})).rejects.toThrow(/empty/);
    await expect(generateAll(Array(40).fill(3), {})).rejects.toThrow(/at most 39/);
    await expect(generateAll(prompt, { maxTokens: 0 })).rejects.toThrow(/positive integer/);
  });
});

describe('trace', () => {
  it('gives the loss of every next-token prediction and routing of every token', async () => {
    const ids = [1, 4, 8, 15, 16, 23, 42, 3];
    const p = await runTrace(engine, null, ids, {});
    const t = buildTrace(config, p);
    const r = await engine.forward(ids, { output: 'all' });
    const V = config.vocab_size;
    for (let i = 0; i + 1 < ids.length; i++) expect(t.loss[i]).toBeCloseTo(crossEntropy(r.logits, i * V, V, ids[i + 1]), 5);
    expect(Number.isNaN(t.loss[ids.length - 1])).toBe(true);
    expect(t.routing.layers[1].indices.length).toBe(ids.length * config.num_experts_per_tok);
    expect(t.attention(0).pattern.length).toBe(config.num_attention_heads * ids.length * ids.length);
    // A uniform distribution's loss is log V: a sanity bound on the computation itself.
    expect(crossEntropy(new Float32Array(V), 0, V, 3)).toBeCloseTo(Math.log(V), 10);
  });

  it('rejects a text longer than the model reads', async () => {
    await expect(runTrace(engine, null, Array(41).fill(3), {})).rejects.toThrow(/at most 40/);
  });
});

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

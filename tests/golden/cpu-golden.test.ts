// The CPU engine against the independent PyTorch reference (tests/reference/), digit by digit.
import { describe, expect, it, beforeAll } from 'vitest';
import { loadModelDirectory } from '../../engine/node.ts';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { generate } from '../../engine/generate.ts';
import type { ExpertChoice, HookTensor } from '../../engine/hooks/request.ts';
import type { Intervention } from '../../engine/hooks/interventions.ts';
import { goldenCases, maxAbsDiff } from './fixtures.ts';

const LOGIT_TOL = 1e-4;
const cases = goldenCases();
/** Largest error seen per fixture, printed at the end for the closing note. */
const worst: Record<string, number> = {};

describe('golden fixtures exist', () => {
  it('finds the committed fixtures (regenerate: npm run fixtures)', () => {
    expect(cases.length).toBeGreaterThanOrEqual(6);
  });
});

describe.each(cases)('CPU engine matches the PyTorch reference on $name', ({ name, dir, expected }) => {
  let engine: CpuEngine;
  const L = expected.router_logits.length;
  const T = expected.ids.length;
  beforeAll(async () => {
    const ckpt = await loadModelDirectory(dir);
    engine = new CpuEngine(ckpt.config, ckpt.weights);
  });
  const note = (err: number) => { worst[name] = Math.max(worst[name] ?? 0, err); return err; };

  it('logits of every position within 1e-4', async () => {
    const r = await engine.forward(expected.ids, { output: 'all' });
    expect(r.logitsShape).toEqual([T, engine.config.vocab_size]);
    expect(note(maxAbsDiff(r.logits, expected.logits))).toBeLessThanOrEqual(LOGIT_TOL);
  });

  it('router logits, expert choices and renormalised weights match', async () => {
    const r = await engine.forward(expected.ids, { hooks: ['blocks.*.moe.hook_router_logits', 'blocks.*.moe.hook_expert_choice'] });
    for (let l = 0; l < L; l++) {
      const logits = r.hooks.get(`blocks.${l}.moe.hook_router_logits`) as HookTensor;
      expect(note(maxAbsDiff(logits.data, expected.router_logits[l]))).toBeLessThanOrEqual(LOGIT_TOL);
      const choice = r.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice;
      expect(Array.from(choice.indices)).toEqual(expected.experts[l].flat());
      expect(maxAbsDiff(choice.weights, expected.expert_weights[l])).toBeLessThanOrEqual(1e-5);
    }
  });

  it('attention patterns and residual stream match', async () => {
    const r = await engine.forward(expected.ids, { hooks: ['blocks.*.attn.hook_pattern', 'blocks.*.hook_resid_post'] });
    for (let l = 0; l < L; l++) {
      expect(maxAbsDiff((r.hooks.get(`blocks.${l}.attn.hook_pattern`) as HookTensor).data, expected.attn_pattern[l])).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff((r.hooks.get(`blocks.${l}.hook_resid_post`) as HookTensor).data, expected.resid_post[l])).toBeLessThanOrEqual(LOGIT_TOL);
    }
  });

  it('incremental decoding with the KV cache equals the full forward', async () => {
    const full = await engine.forward(expected.ids, { output: 'all' });
    const V = engine.config.vocab_size;
    const session = engine.createSession();
    const split = Math.floor(T / 2);
    const first = await session.forward(expected.ids.slice(0, split), { output: 'all' });
    expect(maxAbsDiff(first.logits, Array.from(full.logits.subarray(0, split * V)))).toBeLessThanOrEqual(1e-5);
    for (let t = split; t < T; t++) {
      const step = await session.forward([expected.ids[t]]);
      expect(step.position).toBe(t);
      expect(maxAbsDiff(step.logits, Array.from(full.logits.subarray(t * V, (t + 1) * V)))).toBeLessThanOrEqual(1e-5);
    }
  });

  it('greedy generation reproduces the reference continuation', async () => {
    const tokens: number[] = [];
    for await (const step of generate({ engine, prompt: expected.greedy.prompt }, { maxTokens: expected.greedy.tokens.length, temperature: 0, stopAtEos: false })) {
      tokens.push(step.token);
    }
    expect(tokens).toEqual(expected.greedy.tokens);
  });

  const interventions = expected.interventions ?? [];
  // Only some fixtures carry intervention cases (see make_fixtures.py); the others add no test.
  if (interventions.length > 0) it('interventions match the reference', async () => {
    for (const g of interventions) {
      let iv: Intervention;
      if (g.kind === 'ablate') iv = { kind: 'ablate_experts', layer: g.layer, experts: g.experts! };
      else if (g.kind === 'router_bias') iv = { kind: 'router_bias', layer: g.layer, bias: g.bias! };
      else iv = { kind: 'zero_head', layer: g.layer, head: g.head! };
      const r = await engine.forward(expected.ids, { output: 'all', interventions: [iv], hooks: ['blocks.*.moe.hook_expert_choice'] });
      expect(note(maxAbsDiff(r.logits, g.logits)), `${g.kind} layer ${g.layer}`).toBeLessThanOrEqual(LOGIT_TOL);
      if (g.experts_chosen) {
        for (let l = 0; l < L; l++) {
          const choice = r.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice;
          expect(Array.from(choice.indices)).toEqual(g.experts_chosen[l].flat());
          if (g.kind === 'ablate' && l === g.layer) for (const e of g.experts!) expect(Array.from(choice.indices)).not.toContain(e);
        }
      }
    }
  });
});

describe('parity summary', () => {
  it('reports the largest logit error per fixture', () => {
    console.log(`[golden] largest |diff| per fixture: ${JSON.stringify(worst)}`);
    expect(Object.keys(worst).length).toBe(cases.length);
  });
});

// The CPU engine against the independent PyTorch reference (tests/reference/moe_reference.py) on
// every family beside Mixtral: OLMoE, Qwen2-MoE, Qwen3-MoE, Granite-MoE (fixtures one folder down,
// tests/fixtures/golden/<model_type>/<case>/; regenerate: make_family_fixtures.py).
import { describe, expect, it, beforeAll } from 'vitest';
import { loadModelDirectory } from '../../engine/node.ts';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { generate } from '../../engine/generate.ts';
import { hookNames, hookShape } from '../../engine/hooks/names.ts';
import type { ExpertChoice, HookTensor } from '../../engine/hooks/request.ts';
import type { Intervention } from '../../engine/hooks/interventions.ts';
import { familyGoldenCases, maxAbsDiff, type FamilyGoldenIntervention } from './fixtures.ts';

const TOL = 1e-4;
const cases = familyGoldenCases();
/** Largest error seen per fixture (logits, router logits, residual stream, hooks), printed at the end. */
const worst: Record<string, number> = {};

describe('family golden fixtures exist', () => {
  it('finds three cases of each of olmoe, qwen2_moe, qwen3_moe and granitemoe', () => {
    for (const f of ['olmoe', 'qwen2_moe', 'qwen3_moe', 'granitemoe']) {
      expect(cases.filter((c) => c.name.startsWith(`${f}/`)).length, f).toBe(3);
    }
  });
});

function toIntervention(g: FamilyGoldenIntervention): Intervention {
  if (g.kind === 'ablate') return { kind: 'ablate_experts', layer: g.layer, experts: g.experts! };
  if (g.kind === 'router_bias') return { kind: 'router_bias', layer: g.layer, bias: g.bias! };
  if (g.kind === 'force') return { kind: 'force_experts', layer: g.layer, experts: g.experts!, positions: g.positions, ...(g.weights ? { weights: g.weights } : {}) };
  return { kind: 'zero_head', layer: g.layer, head: g.head! };
}

describe.each(cases)('CPU engine matches the PyTorch reference on $name', ({ name, dir, expected }) => {
  let engine: CpuEngine;
  const L = expected.moe_layers.length;
  const T = expected.ids.length;
  const sparse = expected.moe_layers.flatMap((s, l) => (s ? [l] : []));
  beforeAll(async () => {
    const ckpt = await loadModelDirectory(dir);
    engine = new CpuEngine(ckpt.config, ckpt.weights);
  });
  const note = (err: number) => { worst[name] = Math.max(worst[name] ?? 0, err); return err; };
  const data = (r: { hooks: Map<string, unknown> }, n: string) => (r.hooks.get(n) as HookTensor).data;

  it('reads the family from config.json', () => {
    expect(engine.config.model_type).toBe(expected.family);
  });

  it('logits of every position within 1e-4', async () => {
    const r = await engine.forward(expected.ids, { output: 'all' });
    expect(r.logitsShape).toEqual([T, engine.config.vocab_size]);
    expect(note(maxAbsDiff(r.logits, expected.logits))).toBeLessThanOrEqual(TOL);
  });

  it('has MoE hooks in the sparse layers only, the same sparse layers as the reference', () => {
    const names = hookNames(engine.config);
    for (let l = 0; l < L; l++) expect(names.includes(`blocks.${l}.moe.hook_expert_choice`), `layer ${l}`).toBe(expected.moe_layers[l]);
    expect(names.some((n) => n.endsWith('hook_q_normed'))).toBe(expected.q_normed !== undefined);
    expect(names.some((n) => n.endsWith('hook_shared_gate'))).toBe(expected.shared_gate !== undefined);
  });

  it('every hook point of the model carries the shape the hook table gives it', async () => {
    const r = await engine.forward(expected.ids, { hooks: ['*'] });
    expect([...r.hooks.keys()].sort()).toEqual(hookNames(engine.config).sort());
    for (const [n, v] of r.hooks) {
      expect(v.shape, n).toEqual(hookShape(n, engine.config, T, T));
      if ('data' in v) expect(v.data.length, n).toBe(v.shape.reduce((a, b) => a * b, 1));
    }
  });

  it('router logits, probabilities, identical expert choices and the weights applied', async () => {
    const r = await engine.forward(expected.ids, { hooks: ['blocks.*.moe.hook_router_logits', 'blocks.*.moe.hook_router_probs', 'blocks.*.moe.hook_expert_choice'] });
    for (const l of sparse) {
      expect(note(maxAbsDiff(data(r, `blocks.${l}.moe.hook_router_logits`), expected.router_logits[l]))).toBeLessThanOrEqual(TOL);
      expect(maxAbsDiff(data(r, `blocks.${l}.moe.hook_router_probs`), expected.router_probs[l])).toBeLessThanOrEqual(1e-5);
      const choice = r.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice;
      expect(Array.from(choice.indices), `layer ${l}`).toEqual(expected.experts[l]!.flat());
      expect(maxAbsDiff(choice.weights, expected.expert_weights[l])).toBeLessThanOrEqual(1e-5);
    }
  });

  it('embeddings, attention patterns, MLP outputs and the residual stream match', async () => {
    const r = await engine.forward(expected.ids, { hooks: ['hook_embed', 'blocks.*.attn.hook_pattern', 'blocks.*.hook_mlp_out', 'blocks.*.hook_resid_post'] });
    expect(note(maxAbsDiff(data(r, 'hook_embed'), expected.embed))).toBeLessThanOrEqual(TOL);
    for (let l = 0; l < L; l++) {
      expect(maxAbsDiff(data(r, `blocks.${l}.attn.hook_pattern`), expected.attn_pattern[l])).toBeLessThanOrEqual(1e-5);
      expect(note(maxAbsDiff(data(r, `blocks.${l}.hook_mlp_out`), expected.mlp_out[l]))).toBeLessThanOrEqual(TOL);
      expect(note(maxAbsDiff(data(r, `blocks.${l}.hook_resid_post`), expected.resid_post[l]))).toBeLessThanOrEqual(TOL);
    }
  });

  if (expected.q_normed) it('q and k after their norms (hook_q_normed, hook_k_normed) match', async () => {
    const r = await engine.forward(expected.ids, { hooks: ['blocks.*.attn.hook_q_normed', 'blocks.*.attn.hook_k_normed'] });
    for (let l = 0; l < L; l++) {
      expect(note(maxAbsDiff(data(r, `blocks.${l}.attn.hook_q_normed`), expected.q_normed![l]))).toBeLessThanOrEqual(TOL);
      expect(note(maxAbsDiff(data(r, `blocks.${l}.attn.hook_k_normed`), expected.k_normed![l]))).toBeLessThanOrEqual(TOL);
    }
  });

  if (expected.shared_gate) it('the shared expert and its gate (hook_shared_out, hook_shared_gate) match', async () => {
    const r = await engine.forward(expected.ids, { hooks: ['blocks.*.moe.hook_shared_out', 'blocks.*.moe.hook_shared_gate'] });
    for (const l of sparse) {
      expect(note(maxAbsDiff(data(r, `blocks.${l}.moe.hook_shared_out`), expected.shared_out![l]))).toBeLessThanOrEqual(TOL);
      expect(maxAbsDiff(data(r, `blocks.${l}.moe.hook_shared_gate`), expected.shared_gate![l])).toBeLessThanOrEqual(1e-5);
    }
  });

  it('incremental decoding with the KV cache equals the full forward', async () => {
    const full = await engine.forward(expected.ids, { output: 'all' });
    const V = engine.config.vocab_size;
    using session = engine.createSession();
    const split = Math.floor(T / 2);
    const first = await session.forward(expected.ids.slice(0, split), { output: 'all' });
    expect(maxAbsDiff(first.logits, Array.from(full.logits.subarray(0, split * V)))).toBeLessThanOrEqual(1e-5);
    for (let t = split; t < T; t++) {
      const step = await session.forward([expected.ids[t]]);
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
  if (interventions.length > 0) it('interventions (ablate, router bias, zero a head, force) match the reference', async () => {
    for (const g of interventions) {
      const r = await engine.forward(expected.ids, { output: 'all', interventions: [toIntervention(g)], hooks: ['blocks.*.moe.hook_expert_choice'] });
      expect(note(maxAbsDiff(r.logits, g.logits)), `${g.kind} layer ${g.layer}`).toBeLessThanOrEqual(TOL);
      if (!g.experts_chosen) continue;
      for (const l of sparse) {
        const choice = r.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice;
        expect(Array.from(choice.indices), `${g.kind}, layer ${l}`).toEqual(g.experts_chosen[l]!.flat());
      }
    }
  });

  if (sparse.length < L) it('refuses expert interventions on a dense layer, by name', async () => {
    const dense = expected.moe_layers.indexOf(false);
    await expect(engine.forward(expected.ids, { interventions: [{ kind: 'ablate_experts', layer: dense, experts: [0] }] }))
      .rejects.toThrow(`ablate_experts: layer ${dense} is a dense MLP layer, with no router or experts`);
  });
});

describe('family parity summary', () => {
  it('reports the largest error per fixture', () => {
    console.log(`[golden families] largest |diff| per fixture: ${JSON.stringify(worst)}`);
    expect(Object.keys(worst).length).toBe(cases.length);
  });
});

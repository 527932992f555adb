// Patching as data interventions, on the CPU engine, against independent computations: function
// hooks that do the same replacement by hand, and the routing patch's promise (clean experts and
// weights, outputs computed from the corrupted hidden state) recomputed from the weights.
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../cpu/engine.ts';
import { matmul, rmsnorm, silu } from '../cpu/ops.ts';
import type { ExpertChoice, HookTensor, HookValue } from '../hooks/request.ts';
import { PATCHABLE_HOOKS, type Intervention } from '../hooks/interventions.ts';
import { randomWeights, tinyConfig } from '../../tests/helpers/random-model.ts';
import { patchEffects, PATCH_WHATS } from './patching.ts';
import { RequestError } from '../errors.ts';
import { patchedByHand } from '../../tests/helpers/research-definitions.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModelDirectory } from '../node.ts';
import { tinyFamilyConfig, writeFamilyCheckpoint } from '../../tests/helpers/family-checkpoint.ts';

const c = tinyConfig({ num_hidden_layers: 3 });
const w = randomWeights(c, 7);
const engine = new CpuEngine(c, w);
const D = c.hidden_size, K = c.num_experts_per_tok, V = c.vocab_size;
const clean = [1, 5, 9, 13, 17, 21, 25];
const corrupt = [1, 6, 9, 30, 17, 21, 25];

const tensor = (v: HookValue | undefined) => (v as HookTensor).data;
const choice = (v: HookValue | undefined) => v as ExpertChoice;

describe('patch_activation', () => {
  it.each(PATCHABLE_HOOKS)('replaces the row of %s at a position, exactly as a function hook that does it by hand', async (hook) => {
    const values = Array.from({ length: D }, (_, i) => Math.sin(i + 1));
    const name = `blocks.1.${hook}`;
    const a = await engine.forward(corrupt, { output: 'all', hooks: [name], interventions: [{ kind: 'patch_activation', layer: 1, hook, position: 3, values }] });
    const b = await engine.forward(corrupt, {
      output: 'all',
      hooks: { observe: [name], fns: { [name]: (v) => { const d = (v as HookTensor).data.slice(); d.set(values, 3 * D); return { shape: v.shape, data: d }; } } },
    });
    expect(Array.from(a.logits)).toEqual(Array.from(b.logits));
    // Observation sees what flowed on: the patched row.
    expect(Array.from(tensor(a.hooks.get(name)).subarray(3 * D, 4 * D))).toEqual(Array.from(Float32Array.from(values)));
    const none = await engine.forward(corrupt, { output: 'all' });
    expect(Array.from(a.logits)).not.toEqual(Array.from(none.logits));
  });

  it('leaves positions outside the call alone, and applies at absolute positions in a session', async () => {
    const values = Array.from({ length: D }, () => 0.5);
    const iv: Intervention = { kind: 'patch_activation', layer: 0, hook: 'hook_resid_pre', position: 5, values };
    const whole = await engine.forward(corrupt, { output: 'all', interventions: [iv] });
    using s = engine.createSession();
    const first = await s.forward(corrupt.slice(0, 4), { output: 'all', interventions: [iv] });
    const plain = await engine.forward(corrupt.slice(0, 4), { output: 'all' });
    expect(Array.from(first.logits)).toEqual(Array.from(plain.logits));
    const rest = await s.forward(corrupt.slice(4), { output: 'all', interventions: [iv] });
    expect(Array.from(rest.logits)).toEqual(Array.from(whole.logits.subarray(4 * V)));
  });

  it('rejects bad patches with a clear error', async () => {
    const bad = (iv: Partial<Intervention>) => engine.forward(corrupt, { interventions: [{ kind: 'patch_activation', layer: 0, hook: 'hook_resid_pre', position: 0, values: new Array(D).fill(0), ...iv } as Intervention] });
    await expect(bad({ values: [1, 2] })).rejects.toThrow(/hidden_size \(16\) numbers, got 2/);
    await expect(bad({ hook: 'hook_q' as never })).rejects.toThrow(/cannot be patched/);
    await expect(bad({ values: [NaN, ...new Array(D - 1).fill(0)] })).rejects.toThrow(/values\[0\] is not a finite number/);
    await expect(bad({ layer: 9 })).rejects.toThrow(RequestError);
    await expect(bad({ position: -1 })).rejects.toThrow(/position -1/);
  });
});

describe('routing patch (force_experts with positions and weights)', () => {
  it('uses the clean experts and weights at (l, t), the experts computed from the corrupted hidden state', async () => {
    const l = 1, t = 3;
    const cleanRun = await engine.forward(clean, { hooks: [`blocks.${l}.moe.hook_expert_choice`] });
    const ch = choice(cleanRun.hooks.get(`blocks.${l}.moe.hook_expert_choice`));
    const experts = Array.from(ch.indices.subarray(t * K, (t + 1) * K)), weights = Array.from(ch.weights.subarray(t * K, (t + 1) * K));
    const hooks = [`blocks.${l}.moe.hook_expert_choice`, `blocks.${l}.moe.hook_expert_out`, `blocks.${l}.hook_resid_mid`, `blocks.${l}.hook_mlp_out`];
    const plain = await engine.forward(corrupt, { hooks });
    const r = await engine.forward(corrupt, { hooks, interventions: [{ kind: 'force_experts', layer: l, experts, weights, positions: [t] }] });
    const got = choice(r.hooks.get(`blocks.${l}.moe.hook_expert_choice`));
    expect(Array.from(got.indices.subarray(t * K, (t + 1) * K))).toEqual(experts);
    expect(Array.from(got.weights.subarray(t * K, (t + 1) * K))).toEqual(Array.from(Float32Array.from(weights)));
    // Other positions keep the corrupted run's own routing.
    const own = choice(plain.hooks.get(`blocks.${l}.moe.hook_expert_choice`));
    for (let u = 0; u < corrupt.length; u++) if (u !== t) expect(Array.from(got.indices.subarray(u * K, (u + 1) * K))).toEqual(Array.from(own.indices.subarray(u * K, (u + 1) * K)));
    // The experts' outputs: SwiGLU of the corrupted run's own normalised hidden state at t.
    const x = tensor(r.hooks.get(`blocks.${l}.hook_resid_mid`)).subarray(t * D, (t + 1) * D);
    const xn = new Float32Array(D);
    rmsnorm(xn, x, w.layers[l].post_attention_layernorm, 1, D, c.rms_norm_eps);
    const F = c.intermediate_size;
    const mix = new Float64Array(D);
    experts.forEach((e, k) => {
      const g = new Float32Array(F), u = new Float32Array(F), y = new Float32Array(D);
      matmul(g, xn, w.layers[l].experts[e].w1, 1, D, F);
      matmul(u, xn, w.layers[l].experts[e].w3, 1, D, F);
      for (let f = 0; f < F; f++) g[f] = silu(g[f]) * u[f];
      matmul(y, g, w.layers[l].experts[e].w2, 1, F, D);
      const out = tensor(r.hooks.get(`blocks.${l}.moe.hook_expert_out`)).subarray((t * K + k) * D, (t * K + k + 1) * D);
      for (let d = 0; d < D; d++) { expect(out[d]).toBeCloseTo(y[d], 6); mix[d] += Math.fround(weights[k]) * y[d]; }
    });
    const mlp = tensor(r.hooks.get(`blocks.${l}.hook_mlp_out`)).subarray(t * D, (t + 1) * D);
    for (let d = 0; d < D; d++) expect(mlp[d]).toBeCloseTo(mix[d], 5);
  });
});

describe('patchEffects', () => {
  it.each(PATCH_WHATS)('%s: effect[l][t] as the definition computes it with whole forwards and function hooks', async (what) => {
    const r = await patchEffects(engine, clean, corrupt, 11, 12, { what });
    const ref = await patchedByHand(engine, clean, corrupt, what, 11, 12);
    expect(r.clean_diff).toBe(ref.clean_diff);
    expect(r.corrupt_diff).toBe(ref.corrupt_diff);
    expect(r.effect).toHaveLength(c.num_hidden_layers);
    r.effect.forEach((row, l) => row.forEach((x, t) => expect(x, `layer ${l} position ${t}`).toBeCloseTo(ref.effect[l][t], 5)));
    // Patching the last layer's residual output at the last position restores the clean answer.
    if (what === 'resid_post') expect(r.effect[c.num_hidden_layers - 1][clean.length - 1]).toBeCloseTo(1, 5);
    // Nothing at position 0 differs (both start with the same token): no effect.
    r.effect.forEach((row) => expect(row[0]).toBeCloseTo(0, 9));
  });

  it('reports progress, can be cancelled, and says what is wrong with its input', async () => {
    const seen: number[] = [];
    await patchEffects(engine, clean, corrupt, 11, 12, { what: 'mlp_out', onProgress: (d, n) => { expect(n).toBe(c.num_hidden_layers * clean.length); seen.push(d); } });
    expect(seen.at(-1)).toBe(c.num_hidden_layers * clean.length);
    const ac = new AbortController();
    const run = patchEffects(engine, clean, corrupt, 11, 12, { onProgress: (d) => { if (d === 2) ac.abort(); }, signal: ac.signal });
    await expect(run).rejects.toThrow(/abort/i);
    await expect(patchEffects(engine, clean, corrupt.slice(1), 11, 12)).rejects.toThrow(/same number of tokens; they have 7 and 6/);
    await expect(patchEffects(engine, clean, clean, 11, 12)).rejects.toThrow(/same logit difference/);
    await expect(patchEffects(engine, clean, corrupt, 11, 11)).rejects.toThrow(/same token/);
    await expect(patchEffects(engine, clean, corrupt, 11, 999)).rejects.toThrow(/outside the vocabulary/);
    await expect(patchEffects(engine, clean, corrupt, 11, 12, { what: 'hook_z' as never })).rejects.toThrow(/what must be one of/);
  });
});

describe('patching a model with a dense layer', () => {
  it('patches activations in the dense layer as a function hook does, and its routing effect is 0 (nothing is routed there)', async () => {
    const dir = writeFamilyCheckpoint(mkdtempSync(path.join(tmpdir(), 'mixscope-patch-dense-')), tinyFamilyConfig('qwen2_moe', { num_hidden_layers: 3, mlp_only_layers: [1] }));
    const { config: fc, weights } = await loadModelDirectory(dir);
    const fe = new CpuEngine(fc, weights);
    const FD = fc.hidden_size;
    const values = Array.from({ length: FD }, (_, i) => Math.cos(i));
    for (const hook of PATCHABLE_HOOKS) {
      const name = `blocks.1.${hook}`;
      const a = await fe.forward(corrupt, { output: 'all', interventions: [{ kind: 'patch_activation', layer: 1, hook, position: 2, values }] });
      const b = await fe.forward(corrupt, {
        output: 'all',
        hooks: { observe: [name], fns: { [name]: (v) => { const d = (v as HookTensor).data.slice(); d.set(values, 2 * FD); return { shape: v.shape, data: d }; } } },
      });
      expect(Array.from(a.logits), hook).toEqual(Array.from(b.logits));
    }
    const routing = await patchEffects(fe, clean, corrupt, 3, 4, { what: 'routing' });
    expect(routing.effect[1]).toEqual(new Array(clean.length).fill(0));
    expect(routing.effect[0].some((x) => x !== 0) || routing.effect[2].some((x) => x !== 0)).toBe(true);
    const resid = await patchEffects(fe, clean, corrupt, 3, 4, { what: 'resid_post' });
    // The last layer's residual at the last position is the whole difference.
    expect(resid.effect[2][clean.length - 1]).toBeCloseTo(1, 5);
    await expect(fe.forward(corrupt, { interventions: [{ kind: 'force_experts', layer: 1, positions: [0], experts: [0, 1, 2, 3] }] })).rejects.toThrow(/layer 1 is a dense MLP layer/);
  });
});

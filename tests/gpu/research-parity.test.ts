// The research instruments on the WebGPU engine (Dawn in Node) against the CPU engine: activation
// patches at every patchable hook (one call and a session split across calls), routing patches
// (force_experts at positions with explicit weights), patching effects, and the logit lens.
// How the GPU applies a patch: engine/webgpu/capture.ts copies the values from the call's patch-values buffer
// into the hook's buffer row at the hook point. Whoever changes the GPU forward keeps this passing.
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { loadModelDirectory } from '../../engine/node.ts';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { WebGpuEngine } from '../../engine/webgpu/engine.ts';
import { weightStorageFor } from '../../engine/checkpoint/dtype.ts';
import type { ExpertChoice, HookTensor } from '../../engine/hooks/request.ts';
import { PATCHABLE_HOOKS, type Intervention } from '../../engine/hooks/interventions.ts';
import { patchEffects, PATCH_WHATS } from '../../engine/patch/patching.ts';
import { lensHead, logitLens } from '../../engine/lens/logit-lens.ts';
import { requestNodeDevice, type NodeGpu } from './node-webgpu.ts';
import { noAdapter, noSubgroups } from './ci-policy.ts';
import { goldenCases, maxAbsDiff } from '../golden/fixtures.ts';

const TOL = 1e-3;
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };

let gpu: NodeGpu | { reason: string };
beforeAll(async () => { gpu = await requestNodeDevice(); });
afterAll(() => { if (gpu && !('reason' in gpu)) gpu.device.destroy(); });

// The patches are copies, whatever the kernels: three fixtures on the subgroup kernels, one on the
// (on SwiftShader much slower) workgroup-reduction kernels.
const cases = goldenCases().filter((g) => ['f32-gqa2-e4-k2-window', 'f16-gqa2-e8-k2', 'f32-gqa4-e6-k3-headdim'].includes(g.name))
  .map((g) => ({ ...g, set: 'subgroup kernels', subgroups: true }));
cases.push({ ...cases[0], set: 'workgroup-reduction kernels', subgroups: false });

describe.each(cases)('research instruments on WebGPU: $name ($set)', ({ name, dir, expected, subgroups, set }) => {
  let cpu: CpuEngine, engine: WebGpuEngine | null = null, ckpt: Awaited<ReturnType<typeof loadModelDirectory>>;
  beforeAll(async () => { ckpt = await loadModelDirectory(dir); cpu = new CpuEngine(ckpt.config, ckpt.weights); });
  afterAll(() => engine?.dispose());
  async function gpuEngine(ctx: TestContext): Promise<WebGpuEngine> {
    if ('reason' in gpu) noAdapter('research parity (Dawn)', gpu.reason, (m) => ctx.skip(m));
    engine ??= await WebGpuEngine.create((gpu as NodeGpu).device, ckpt.config, ckpt.weights, { weights: weightStorageFor(ckpt.dtypeBytes), subgroups });
    if (subgroups && !engine.kernels.subgroups) noSubgroups(`research parity (Dawn, ${set})`, (m) => ctx.skip(m));
    return engine;
  }
  const ids = expected.ids;

  it('an activation patch at each patchable hook gives the CPU engine\'s logits and hooks, in one call and across a session', { timeout: 300_000 }, async (ctx) => {
    const g = await gpuEngine(ctx);
    const c = ckpt.config, D = c.hidden_size, L = c.num_hidden_layers, V = c.vocab_size;
    const values = Array.from({ length: D }, (_, i) => Math.cos(i) * 2);
    let worst = 0;
    for (const hook of PATCHABLE_HOOKS) for (const layer of [0, L - 1]) {
      const iv: Intervention[] = [{ kind: 'patch_activation', layer, hook, position: 3, values }, { kind: 'patch_activation', layer, hook, position: ids.length - 1, values: values.map((v) => -v) }];
      const req = { output: 'all' as const, interventions: iv, hooks: [`blocks.${layer}.${hook}`, 'blocks.*.moe.hook_expert_choice'] };
      const [a, b] = [await g.forward(ids, req), await cpu.forward(ids, req)];
      worst = Math.max(worst, maxDiff(a.logits, b.logits));
      expect(maxDiff(a.logits, b.logits), `${hook} layer ${layer}`).toBeLessThanOrEqual(TOL);
      const seen = (a.hooks.get(`blocks.${layer}.${hook}`) as HookTensor).data;
      expect(Array.from(seen.subarray(3 * D, 4 * D))).toEqual(Array.from(Float32Array.from(values)));
      for (let l = 0; l < L; l++) {
        const name = `blocks.${l}.moe.hook_expert_choice`;
        expect(Array.from((a.hooks.get(name) as ExpertChoice).indices), `${hook} ${name}`).toEqual(Array.from((b.hooks.get(name) as ExpertChoice).indices));
      }
      // Split across two calls of a session: each call applies the patches of its own positions.
      using s = g.createSession();
      await s.forward(ids.slice(0, 5), { interventions: iv });
      const rest = await s.forward(ids.slice(5), { interventions: iv, output: 'all' });
      expect(maxDiff(rest.logits, b.logits.subarray(5 * V)), `${hook} layer ${layer}, session`).toBeLessThanOrEqual(TOL);
    }
    console.log(`[research:dawn] ${name} (${set}): patched logits within ${worst.toExponential(2)} of the CPU engine's`);
  });

  it('a patch seen by a function hook, and a routing patch with explicit weights, as on the CPU', async (ctx) => {
    const g = await gpuEngine(ctx);
    const c = ckpt.config, D = c.hidden_size, K = c.num_experts_per_tok, E = c.num_local_experts;
    const values = Array.from({ length: D }, (_, i) => (i % 3) - 1);
    let seen: number[] = [];
    const fns = { 'blocks.0.hook_mlp_out': (v: HookTensor | ExpertChoice) => { seen = Array.from((v as HookTensor).data.subarray(2 * D, 3 * D)); } };
    await g.forward(ids, { hooks: { fns }, interventions: [{ kind: 'patch_activation', layer: 0, hook: 'hook_mlp_out', position: 2, values }] });
    expect(seen).toEqual(values);
    const weights = Array.from({ length: K }, (_, k) => 0.9 - 0.2 * k);
    const force: Intervention = { kind: 'force_experts', layer: c.num_hidden_layers - 1, experts: Array.from({ length: K }, (_, k) => E - 1 - k), weights, positions: [1, 4] };
    const req = { output: 'all' as const, interventions: [force], hooks: ['blocks.*.moe.hook_expert_choice', 'blocks.*.moe.hook_expert_out'] };
    const [a, b] = [await g.forward(ids, req), await cpu.forward(ids, req)];
    expect(maxDiff(a.logits, b.logits)).toBeLessThanOrEqual(TOL);
    const ch = a.hooks.get(`blocks.${c.num_hidden_layers - 1}.moe.hook_expert_choice`) as ExpertChoice;
    expect(Array.from(ch.weights.subarray(4 * K, 5 * K))).toEqual(Array.from(Float32Array.from(weights)));
    for (const [name, v] of b.hooks) if ('data' in v) expect(maxDiff((a.hooks.get(name) as HookTensor).data, v.data), name).toBeLessThanOrEqual(TOL);
  });

  it('patching effects and the logit lens match the CPU engine\'s', { timeout: 300_000 }, async (ctx) => {
    const g = await gpuEngine(ctx);
    const c = ckpt.config;
    const clean = ids.slice(0, 6), corrupt = [...clean];
    corrupt[3] = (corrupt[3] + 1) % c.vocab_size;
    corrupt[4] = (corrupt[4] + 7) % c.vocab_size;
    const lastLogits = (await cpu.forward(clean)).logits;
    const [answer, wrong] = [...lastLogits.keys()].sort((x, y) => lastLogits[y] - lastLogits[x]).slice(0, 2);
    let worstEffect = 0;
    for (const what of PATCH_WHATS) {
      const [a, b] = [await patchEffects(g, clean, corrupt, answer, wrong, { what }), await patchEffects(cpu, clean, corrupt, answer, wrong, { what })];
      expect(Math.abs(a.clean_diff - b.clean_diff)).toBeLessThanOrEqual(2 * TOL);
      expect(Math.abs(a.corrupt_diff - b.corrupt_diff)).toBeLessThanOrEqual(2 * TOL);
      // Compared as patched logit differences: effect x (clean - corrupt) is within tolerance.
      const scale = Math.abs(b.clean_diff - b.corrupt_diff);
      const d = maxAbsDiff(a.effect.flat().map((x) => x * scale), b.effect.map((row) => row.map((x) => x * scale)));
      worstEffect = Math.max(worstEffect, d);
      expect(d, what).toBeLessThanOrEqual(4 * TOL);
    }
    console.log(`[research:dawn] ${name} (${set}): patched logit differences (effect x (clean - corrupt)) within ${worstEffect.toExponential(2)}, all ${PATCH_WHATS.length} kinds`);
    const head = lensHead(c, ckpt.weights);
    const [la, lb] = [await logitLens(g, head, ids, { top: 3 }), await logitLens(cpu, head, ids, { top: 3 })];
    la.layers.forEach((layer, l) => layer.resid.forEach((row, t) => row.forEach((x, i) => {
      const y = lb.layers[l].resid[t][i];
      if (x.id === y.id) expect(Math.abs(x.prob - y.prob)).toBeLessThanOrEqual(TOL);
      else expect(Math.abs(x.prob - y.prob), `near-tie at layer ${l} position ${t}`).toBeLessThanOrEqual(TOL); // two tokens within tolerance of each other
    })));
    la.layers.forEach((layer, l) => layer.experts.forEach((row, t) => row.forEach((x, k) => {
      const y = lb.layers[l].experts[t][k];
      expect(x.expert).toBe(y.expert);
      expect(Math.abs(x.top[0].logit - y.top[0].logit)).toBeLessThanOrEqual(TOL);
    })));
  });
});

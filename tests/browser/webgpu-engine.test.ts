// The WebGPU engine in headless Chromium (WebGPU on SwiftShader) against the CPU engine in the
// same page, on every golden fixture fetched over HTTP (logits, every hook, interventions, greedy
// text), on one fixture of each family beside Mixtral (logits against the PyTorch reference too),
// and on the default model (held-out logits and expert choices, 128-token greedy text; in q8 and q4
// against the CPU engine on the same quantized weights).
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { launchChromium, watchErrors } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { bundleForBrowser } from './bundle.ts';
import { noAdapter, noSubgroups } from '../gpu/ci-policy.ts';
import { familyGoldenCases, goldenCases } from '../golden/fixtures.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const cases = goldenCases();
// Held-out snippets and greedy prompts of the default model, as tests/model/default-model-webgpu.test.ts uses them in Node.
const parity = JSON.parse(readFileSync(path.join(here, '../fixtures/default-model-parity.json'), 'utf8')) as {
  snippets: { domain: string; ids: number[] }[];
  greedy: { domain: string; prompt: string }[];
};

describe('WebGPU engine in headless Chromium', () => {
  let browser: Browser, server: StaticServer, page: Page, errors: string[];
  beforeAll(async () => {
    const dir = await bundleForBrowser(path.join(here, 'engine-entry.ts'), 'engine');
    mkdirSync(path.join(dir, 'golden'));
    cpSync(path.join(here, '../fixtures/golden'), path.join(dir, 'golden'), { recursive: true });
    cpSync(path.join(here, '../../models/mixscope-tiny'), path.join(dir, 'mixscope-tiny'), { recursive: true });
    server = await serveDirectory(dir, { '/': '<!doctype html><title>parity</title><script type="module">import * as m from "./engine.js"; window.mixscope = m;</script>' });
    browser = await launchChromium();
    page = await browser.newPage();
    errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => (window as unknown as { mixscope?: unknown }).mixscope !== undefined);
  }, 180_000);
  afterAll(async () => { await browser?.close(); await server?.close(); });

  /**
   * Fails in CI (skips elsewhere) where the page has no WebGPU adapter, or, for the subgroup
   * kernels, one without `subgroups`.
   */
  async function adapterReady(ctx: TestContext, where: string, subgroups: boolean): Promise<void> {
    const adapter = await page.evaluate(async () => {
      const a = await navigator.gpu?.requestAdapter();
      return a ? { subgroups: a.features.has('subgroups') } : null;
    });
    if (!adapter) return noAdapter('Chromium', 'navigator.gpu.requestAdapter() returned null', (m) => ctx.skip(m));
    if (subgroups && !adapter.subgroups) return noSubgroups(`Chromium (${where})`, (m) => ctx.skip(m));
  }

  // Every fixture on both kernel sets: the subgroup kernels (the engine's device asks for
  // `subgroups`, which SwiftShader has) and the workgroup-reduction kernels of adapters without it.
  const sets = [{ set: 'subgroup kernels', subgroups: true }, { set: 'workgroup-reduction kernels', subgroups: false }];
  it.for(cases.flatMap((c) => sets.map((s) => [c.name, s.set, { ...c, ...s }] as const)))('%s (%s): logits and every hook within tolerance, interventions, same greedy tokens', async ([name, set, c], ctx) => {
    await adapterReady(ctx, set, c.subgroups);
    const r = await page.evaluate(async ({ name, ids, greedy, subgroups }) => {
      const m = (window as any).mixscope;
      const ck = await m.loadCheckpoint(m.urlSource(`./golden/${name}/`));
      const adapter = await navigator.gpu.requestAdapter();
      const f16 = Object.keys(ck.dtypeBytes).every((t: string) => t === 'F16');
      const device = await m.requestEngineDevice(adapter, ck.config, f16 ? 'f16' : 'f32');
      const gpu = await m.WebGpuEngine.create(device, ck.config, ck.weights, { weights: f16 ? 'f16' : 'f32', subgroups });
      if (!!gpu.kernels.subgroups !== subgroups) throw new Error(`the engine ${gpu.kernels.subgroups ? 'uses' : 'does not use'} the subgroup kernels`);
      const cpu = new m.CpuEngine(ck.config, ck.weights);
      const maxDiff = m.maxAbsDiff;
      // Every hook: tensors within 1e-3, expert choices the same with weights within 1e-4.
      const compare = (a: any, b: any) => {
        const bad: string[] = [];
        const names = [...b.hooks.keys()];
        if (names.length !== a.hooks.size) bad.push(`${a.hooks.size} hooks where the CPU has ${names.length}`);
        for (const k of names) {
          const x = a.hooks.get(k), y = b.hooks.get(k);
          if (!x || x.shape.join() !== y.shape.join()) bad.push(`${k}: shape`);
          else if ('data' in y) { if (maxDiff(x.data, y.data) > 1e-3) bad.push(`${k}: ${maxDiff(x.data, y.data)}`); }
          else if (x.indices.join() !== y.indices.join() || maxDiff(x.weights, y.weights) > 1e-4) bad.push(`${k}: choice`);
        }
        return bad;
      };
      const a = await gpu.forward(ids, { output: 'all', hooks: ['*'] });
      const b = await cpu.forward(ids, { output: 'all', hooks: ['*'] });
      const diff = maxDiff(a.logits, b.logits);
      const hookErrors = compare(a, b);
      // The data interventions, on the GPU against the CPU engine.
      const c = ck.config, L = c.num_hidden_layers, E = c.num_local_experts, K = c.num_experts_per_tok;
      const list = [
        [{ kind: 'ablate_experts', layer: 0, experts: [0] }],
        [{ kind: 'router_bias', layer: L - 1, bias: Array.from({ length: E }, (_, e) => (e === 1 ? 3 : 0)) }],
        [{ kind: 'zero_head', layer: 0, head: c.num_attention_heads - 1 }],
        [{ kind: 'force_experts', layer: L - 1, experts: Array.from({ length: K }, (_, i) => E - 1 - i), positions: [1, 2] }],
      ];
      const interventionErrors: string[] = [];
      for (const interventions of list) {
        const req = { output: 'all', interventions, hooks: ['blocks.*.moe.hook_expert_choice'] };
        const x = await gpu.forward(ids, req), y = await cpu.forward(ids, req);
        const d = maxDiff(x.logits, y.logits);
        if (d > 1e-3) interventionErrors.push(`${interventions[0].kind}: logits ${d}`);
        interventionErrors.push(...compare(x, y).map((e) => `${interventions[0].kind}: ${e}`));
      }
      const tokens: number[] = [];
      for await (const s of m.generate({ engine: gpu, prompt: greedy.prompt }, { maxTokens: greedy.tokens.length, temperature: 0, stopAtEos: false })) tokens.push(s.token);
      gpu.dispose();
      device.destroy();
      return { diff, hookErrors, interventionErrors, tokens };
    }, { name, ids: c.expected.ids, greedy: c.expected.greedy, subgroups: c.subgroups });
    console.log(`[webgpu:chromium] ${name} (${set}): max |logit diff| vs CPU ${r.diff.toExponential(2)}`);
    expect(r.diff).toBeLessThanOrEqual(1e-3);
    expect(r.hookErrors).toEqual([]);
    expect(r.interventionErrors).toEqual([]);
    expect(r.tokens).toEqual(c.expected.greedy.tokens);
    // urlSource probes optional files (tokenizer.json, the shard index) and the browser logs each 404.
    expect(errors.filter((e) => !e.includes('status of 404'))).toEqual([]);
  });

  // One fixture of each family (tests/fixtures/golden/<model_type>/), both kernel sets: the logits
  // against the PyTorch reference, every hook (the families' own included) against the CPU engine,
  // the four interventions, the reference's greedy tokens.
  const familyCases = ['olmoe/f32-mha-e8-k2', 'qwen2_moe/f32-gqa2-e7-k2-shared-renorm', 'qwen3_moe/f32-gqa2-e16-k8-headdim16', 'granitemoe/f32-mha-e8-k2-tied']
    .map((name) => familyGoldenCases().find((c) => c.name === name)!);
  it.for(familyCases.flatMap((c) => sets.map((s) => [c.name, s.set, { ...c, ...s }] as const)))('%s (%s): logits match the reference, every hook the CPU engine, interventions, same greedy tokens', { timeout: 600_000 }, async ([name, set, c], ctx) => {
    await adapterReady(ctx, set, c.subgroups);
    const r = await page.evaluate(async ({ name, ids, greedy, subgroups, reference }) => {
      const m = (window as any).mixscope;
      const ck = await m.loadCheckpoint(m.urlSource(`./golden/${name}/`));
      const adapter = await navigator.gpu.requestAdapter();
      const device = await m.requestEngineDevice(adapter, ck.config, 'f32');
      const gpu = await m.WebGpuEngine.create(device, ck.config, ck.weights, { weights: 'f32', subgroups });
      if (!!gpu.kernels.subgroups !== subgroups) throw new Error(`the engine ${gpu.kernels.subgroups ? 'uses' : 'does not use'} the subgroup kernels`);
      const cpu = new m.CpuEngine(ck.config, ck.weights);
      const maxDiff = m.maxAbsDiff;
      const compare = (a: any, b: any) => {
        const bad: string[] = [];
        const names = [...b.hooks.keys()];
        if (names.length !== a.hooks.size) bad.push(`${a.hooks.size} hooks where the CPU has ${names.length}`);
        for (const k of names) {
          const x = a.hooks.get(k), y = b.hooks.get(k);
          if (!x || x.shape.join() !== y.shape.join()) bad.push(`${k}: shape`);
          else if ('data' in y) { if (maxDiff(x.data, y.data) > 1e-3) bad.push(`${k}: ${maxDiff(x.data, y.data)}`); }
          else if (x.indices.join() !== y.indices.join() || maxDiff(x.weights, y.weights) > 1e-4) bad.push(`${k}: choice`);
        }
        return bad;
      };
      const a = await gpu.forward(ids, { output: 'all', hooks: ['*'] });
      const b = await cpu.forward(ids, { output: 'all', hooks: ['*'] });
      const diff = maxDiff(a.logits, reference.flat());
      const hookErrors = compare(a, b);
      const c = ck.config, L = c.num_hidden_layers, E = c.num_local_experts, K = c.num_experts_per_tok;
      const list = [
        [{ kind: 'ablate_experts', layer: 0, experts: [0] }],
        [{ kind: 'router_bias', layer: L - 1, bias: Array.from({ length: E }, (_, e) => (e === 1 ? 3 : 0)) }],
        [{ kind: 'zero_head', layer: 0, head: c.num_attention_heads - 1 }],
        [{ kind: 'force_experts', layer: L - 1, experts: Array.from({ length: K }, (_, i) => E - 1 - i), positions: [1, 2] }],
      ];
      const interventionErrors: string[] = [];
      for (const interventions of list) {
        const req = { output: 'all', interventions, hooks: ['blocks.*.moe.hook_expert_choice'] };
        const x = await gpu.forward(ids, req), y = await cpu.forward(ids, req);
        const d = maxDiff(x.logits, y.logits);
        if (d > 1e-3) interventionErrors.push(`${interventions[0].kind}: logits ${d}`);
        interventionErrors.push(...compare(x, y).map((e) => `${interventions[0].kind}: ${e}`));
      }
      const tokens: number[] = [];
      for await (const s of m.generate({ engine: gpu, prompt: greedy.prompt }, { maxTokens: greedy.tokens.length, temperature: 0, stopAtEos: false })) tokens.push(s.token);
      gpu.dispose();
      device.destroy();
      return { diff, hookErrors, interventionErrors, tokens };
    }, { name, ids: c.expected.ids, greedy: c.expected.greedy, subgroups: c.subgroups, reference: c.expected.logits });
    console.log(`[webgpu:chromium] ${name} (${set}): max |logit diff| vs the reference ${r.diff.toExponential(2)}`);
    expect(r.diff).toBeLessThanOrEqual(1e-3);
    expect(r.hookErrors).toEqual([]);
    expect(r.interventionErrors).toEqual([]);
    expect(r.tokens).toEqual(c.expected.greedy.tokens);
    expect(errors.filter((e) => !e.includes('status of 404'))).toEqual([]);
  });

  /** The default model on the site's device (engine-host.ts asks for `subgroups`), kept in the page between tests. */
  async function defaultModelReady(ctx: TestContext): Promise<void> {
    await adapterReady(ctx, 'default model', true);
    await page.evaluate(async () => {
      const w = window as any;
      if (w.defaultModel) return;
      const m = w.mixscope;
      const ck = await m.loadCheckpoint(m.urlSource('./mixscope-tiny/'));
      const device = await m.requestEngineDevice(await navigator.gpu.requestAdapter(), ck.config, 'f16');
      const gpu = await m.WebGpuEngine.create(device, ck.config, ck.weights, { weights: 'f16' });
      if (!gpu.kernels.subgroups) throw new Error('the engine does not use the subgroup kernels');
      w.defaultModel = { gpu, cpu: new m.CpuEngine(ck.config, ck.weights), tokenizer: new m.MixscopeTokenizer(ck.tokenizerJson), config: ck.config, weights: ck.weights };
    });
  }

  it.for(parity.snippets.map((s) => [s.domain, s] as const))('the default model on %s held-out text: logits within 1e-3, same experts where the margin exceeds 1e-4', { timeout: 300_000 }, async ([domain, snippet], ctx) => {
    await defaultModelReady(ctx);
    const r = await page.evaluate(async (ids) => {
      const m = (window as any).mixscope;
      const { gpu, cpu, config } = (window as any).defaultModel;
      const hooks = ['blocks.*.moe.hook_expert_choice', 'blocks.*.moe.hook_router_probs'];
      const a = await gpu.forward(ids, { output: 'all', hooks }), b = await cpu.forward(ids, { output: 'all', hooks });
      const diff = m.maxAbsDiff(a.logits, b.logits);
      const { compared, flips } = m.expertChoiceFlips(a.hooks, b.hooks, config.num_hidden_layers, config.num_local_experts, config.num_experts_per_tok);
      return { diff, compared, flips };
    }, snippet.ids);
    console.log(`[webgpu:chromium] default model, ${domain}: max |logit diff| vs CPU ${r.diff.toExponential(2)}; ${r.compared} expert choices compared`);
    expect(r.diff).toBeLessThanOrEqual(1e-3);
    expect(r.compared).toBeGreaterThan(0);
    expect(r.flips).toEqual([]);
  });

  it.for(parity.greedy.map((g) => [g.domain, g] as const))('the default model: greedy 128 tokens from the %s prompt are the CPU engine\'s', { timeout: 300_000 }, async ([, g], ctx) => {
    await defaultModelReady(ctx);
    const r = await page.evaluate(async (prompt) => {
      const m = (window as any).mixscope;
      const { gpu, cpu, tokenizer } = (window as any).defaultModel;
      const run = async (engine: unknown) => {
        const out: number[] = [];
        for await (const s of m.generate({ engine, tokenizer, prompt }, { maxTokens: 128, temperature: 0, stopAtEos: false })) out.push(s.token);
        return out;
      };
      return { gpu: await run(gpu), cpu: await run(cpu) };
    }, g.prompt);
    expect(r.gpu.length).toBe(128);
    expect(r.gpu).toEqual(r.cpu);
  });

  it('the default model in q8 and q4: logits within 1e-3 and the same experts as the CPU engine on the same weights, the same greedy tokens', { timeout: 300_000 }, async (ctx) => {
    await defaultModelReady(ctx);
    const r = await page.evaluate(async ({ ids, prompt }) => {
      const m = (window as any).mixscope;
      const { gpu: f16, tokenizer, config, weights } = (window as any).defaultModel;
      const out: Record<string, { diff: number; compared: number; flips: unknown[]; gpu: number[]; cpu: number[] }> = {};
      for (const format of ['q8', 'q4']) {
        const gpu = await m.WebGpuEngine.create(f16.device, config, weights, { weights: format });
        const cpu = new m.CpuEngine(config, m.convertWeights(weights, config, format));
        const hooks = ['blocks.*.moe.hook_expert_choice', 'blocks.*.moe.hook_router_probs'];
        const a = await gpu.forward(ids, { output: 'all', hooks }), b = await cpu.forward(ids, { output: 'all', hooks });
        const run = async (engine: unknown) => {
          const tokens: number[] = [];
          for await (const s of m.generate({ engine, tokenizer, prompt }, { maxTokens: 8, temperature: 0, stopAtEos: false })) tokens.push(s.token);
          return tokens;
        };
        out[format] = { diff: m.maxAbsDiff(a.logits, b.logits), ...m.expertChoiceFlips(a.hooks, b.hooks, config.num_hidden_layers, config.num_local_experts, config.num_experts_per_tok), gpu: await run(gpu), cpu: await run(cpu) };
        gpu.dispose();
      }
      return out;
    }, { ids: parity.snippets[0].ids.slice(0, 16), prompt: parity.greedy[0].prompt });
    for (const [format, q] of Object.entries(r)) {
      console.log(`[webgpu:chromium] default model in ${format}: max |logit diff| vs the CPU engine on the same weights ${q.diff.toExponential(2)}`);
      expect(q.diff, format).toBeLessThanOrEqual(1e-3);
      expect(q.compared, format).toBeGreaterThan(0);
      expect(q.flips, format).toEqual([]);
      expect(q.gpu.length, format).toBe(8);
      expect(q.gpu, format).toEqual(q.cpu);
    }
  });
});

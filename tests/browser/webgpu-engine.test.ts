// The WebGPU engine in headless Chromium (WebGPU on SwiftShader) against the CPU engine in the
// same page, on every golden fixture fetched over HTTP: logits, expert choices, greedy text.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import { cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { launchChromium, watchErrors } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { bundleForBrowser } from './bundle.ts';
import { noAdapter, noSubgroups } from '../gpu/ci-policy.ts';
import { goldenCases } from '../golden/fixtures.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const cases = goldenCases();

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

  /** Whether the page's adapter has `subgroups`; without it the subgroup kernels cannot be checked. */
  async function adapterHasSubgroups(): Promise<boolean> {
    return page.evaluate(async () => !!(await navigator.gpu.requestAdapter())?.features.has('subgroups'));
  }

  // Every fixture on both kernel sets: the subgroup kernels (the engine's device asks for
  // `subgroups`, which SwiftShader has) and the workgroup-reduction kernels of adapters without it.
  const sets = [{ set: 'subgroup kernels', subgroups: true }, { set: 'workgroup-reduction kernels', subgroups: false }];
  it.for(cases.flatMap((c) => sets.map((s) => [c.name, s.set, { ...c, ...s }] as const)))('%s (%s): logits within 1e-3, same experts, same greedy tokens', async ([name, set, c], ctx) => {
    const hasAdapter = await page.evaluate(async () => !!(await navigator.gpu?.requestAdapter()));
    if (!hasAdapter) return noAdapter('Chromium', 'navigator.gpu.requestAdapter() returned null', (m) => ctx.skip(m));
    if (c.subgroups && !(await adapterHasSubgroups())) return noSubgroups(`Chromium (${set})`, (m) => ctx.skip(m));
    const r = await page.evaluate(async ({ name, ids, greedy, subgroups }) => {
      const m = (window as any).mixscope;
      const ck = await m.loadCheckpoint(m.urlSource(`./golden/${name}/`));
      const adapter = await navigator.gpu.requestAdapter();
      const f16 = Object.keys(ck.dtypeBytes).every((t: string) => t === 'F16');
      const device = await m.requestEngineDevice(adapter, ck.config, f16 ? 'f16' : 'f32');
      const gpu = await m.WebGpuEngine.create(device, ck.config, ck.weights, { weights: f16 ? 'f16' : 'f32', subgroups });
      if (!!gpu.kernels.subgroups !== subgroups) throw new Error(`the engine ${gpu.kernels.subgroups ? 'uses' : 'does not use'} the subgroup kernels`);
      const cpu = new m.CpuEngine(ck.config, ck.weights);
      const hooks = ['blocks.*.moe.hook_expert_choice'];
      const a = await gpu.forward(ids, { logits: 'all', hooks });
      const b = await cpu.forward(ids, { logits: 'all', hooks });
      let diff = 0;
      for (let i = 0; i < a.logits.length; i++) diff = Math.max(diff, Math.abs(a.logits[i] - b.logits[i]));
      const same = [...b.hooks.keys()].every((k: string) => a.hooks.get(k).indices.join() === b.hooks.get(k).indices.join());
      const tokens: number[] = [];
      for await (const s of m.generate({ engine: gpu, prompt: greedy.prompt }, { maxTokens: greedy.tokens.length, temperature: 0, stopAtEos: false })) tokens.push(s.token);
      gpu.dispose();
      device.destroy();
      return { diff, same, tokens };
    }, { name, ids: c.expected.ids, greedy: c.expected.greedy, subgroups: c.subgroups });
    console.log(`[webgpu:chromium] ${name} (${set}): max |logit diff| vs CPU ${r.diff.toExponential(2)}`);
    expect(r.diff).toBeLessThanOrEqual(1e-3);
    expect(r.same).toBe(true);
    expect(r.tokens).toEqual(c.expected.greedy.tokens);
    // urlSource probes optional files (tokenizer.json, the shard index) and the browser logs each 404.
    expect(errors.filter((e) => !e.includes('status of 404'))).toEqual([]);
  });

  it('the default model: logits within 1e-3 of the CPU engine and the same 128-token greedy text', { timeout: 600_000 }, async (ctx) => {
    const hasAdapter = await page.evaluate(async () => !!(await navigator.gpu?.requestAdapter()));
    if (!hasAdapter) return noAdapter('Chromium', 'navigator.gpu.requestAdapter() returned null', (m) => ctx.skip(m));
    if (!(await adapterHasSubgroups())) return noSubgroups('Chromium (default model)', (m) => ctx.skip(m));
    const r = await page.evaluate(async () => {
      const m = (window as any).mixscope;
      const ck = await m.loadCheckpoint(m.urlSource('./mixscope-tiny/'));
      const tokenizer = new m.MixscopeTokenizer(ck.tokenizerJson);
      // The device the site asks for (engine-host.ts): with `subgroups`, so the subgroup kernels run.
      const device = await m.requestEngineDevice(await navigator.gpu.requestAdapter(), ck.config, 'f16');
      const gpu = await m.WebGpuEngine.create(device, ck.config, ck.weights, { weights: 'f16' });
      if (!gpu.kernels.subgroups) throw new Error('the engine does not use the subgroup kernels');
      const cpu = new m.CpuEngine(ck.config, ck.weights);
      const prompt = 'def fibonacci(n):';
      const ids = tokenizer.encode(prompt).ids;
      const [a, b] = [await gpu.forward(ids, { logits: 'all' }), await cpu.forward(ids, { logits: 'all' })];
      let diff = 0;
      for (let i = 0; i < a.logits.length; i++) diff = Math.max(diff, Math.abs(a.logits[i] - b.logits[i]));
      const run = async (engine: unknown) => {
        const out: number[] = [];
        for await (const s of m.generate({ engine, tokenizer, prompt }, { maxTokens: 128, temperature: 0, stopAtEos: false })) out.push(s.token);
        return out;
      };
      const g = await run(gpu), c = await run(cpu);
      gpu.dispose();
      device.destroy();
      return { diff, same: g.join() === c.join(), n: g.length, text: tokenizer.decode(g) };
    });
    console.log(`[webgpu:chromium] default model: max |logit diff| vs CPU ${r.diff.toExponential(2)}; greedy ${r.n} tokens identical: ${r.same}`);
    expect(r.diff).toBeLessThanOrEqual(1e-3);
    expect(r.n).toBe(128);
    expect(r.same).toBe(true);
  });
});

// The research instruments on the WebGPU engine in headless Chromium (SwiftShader) against the CPU
// engine in the same page: activation patches at every patchable hook (one call and across a
// session), a routing patch with explicit weights, patching effects and the logit lens. The GPU
// applies a patch as a copy from the call's patch-values buffer into the hook's buffer row at the hook point
// (engine/webgpu/capture.ts); whoever changes the GPU forward keeps this passing.
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import { cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { launchChromium, watchErrors } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { bundleForBrowser } from './bundle.ts';
import { noAdapter } from '../gpu/ci-policy.ts';
import { goldenCases } from '../golden/fixtures.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const CASES = ['f32-gqa2-e4-k2-window', 'f16-gqa2-e8-k2'];

describe('research instruments on WebGPU in headless Chromium', () => {
  let browser: Browser, server: StaticServer, page: Page, errors: string[];
  beforeAll(async () => {
    const dir = await bundleForBrowser(path.join(here, 'research-engine-entry.ts'), 'engine');
    mkdirSync(path.join(dir, 'golden'));
    for (const name of CASES) cpSync(path.join(here, '../fixtures/golden', name), path.join(dir, 'golden', name), { recursive: true });
    server = await serveDirectory(dir, { '/': '<!doctype html><title>research parity</title><script type="module">import * as m from "./engine.js"; window.mixscope = m;</script>' });
    browser = await launchChromium();
    page = await browser.newPage();
    errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => (window as unknown as { mixscope?: unknown }).mixscope !== undefined);
  }, 180_000);
  afterAll(async () => { await browser?.close(); await server?.close(); });

  it.for(goldenCases().filter((c) => CASES.includes(c.name)).map((c) => [c.name, c] as const))('%s: patches, patching effects and the lens match the CPU engine', { timeout: 600_000 }, async ([name, c], ctx: TestContext) => {
    const has = await page.evaluate(async () => !!(await navigator.gpu?.requestAdapter()));
    if (!has) return noAdapter('Chromium', 'navigator.gpu.requestAdapter() returned null', (m) => ctx.skip(m));
    const r = await page.evaluate(async ({ name, ids }) => {
      const m = (window as any).mixscope;
      const ck = await m.loadCheckpoint(m.urlSource(`./golden/${name}/`));
      const f16 = Object.keys(ck.dtypeBytes).every((t: string) => t === 'F16');
      const device = await m.requestEngineDevice(await navigator.gpu.requestAdapter(), ck.config, f16 ? 'f16' : 'f32');
      const gpu = await m.WebGpuEngine.create(device, ck.config, ck.weights, { weights: f16 ? 'f16' : 'f32' });
      const cpu = new m.CpuEngine(ck.config, ck.weights);
      const c = ck.config, D = c.hidden_size, L = c.num_hidden_layers, V = c.vocab_size, K = c.num_experts_per_tok, E = c.num_local_experts;
      const bad: string[] = [];
      const values = Array.from({ length: D }, (_, i) => Math.cos(i) * 2);
      for (const hook of m.PATCHABLE_HOOKS) for (const layer of [0, L - 1]) {
        const interventions = [{ kind: 'patch_activation', layer, hook, position: 3, values }];
        const req = { output: 'all', interventions, hooks: [`blocks.${layer}.${hook}`] };
        const a = await gpu.forward(ids, req), b = await cpu.forward(ids, req);
        const d = m.maxAbsDiff(a.logits, b.logits);
        if (d > 1e-3) bad.push(`${hook} layer ${layer}: logits ${d}`);
        const seen = a.hooks.get(`blocks.${layer}.${hook}`).data.subarray(3 * D, 4 * D);
        if (m.maxAbsDiff(seen, Float32Array.from(values)) !== 0) bad.push(`${hook} layer ${layer}: the hook does not show the patched row`);
        const s = gpu.createSession();
        await s.forward(ids.slice(0, 5), { interventions });
        const rest = await s.forward(ids.slice(5), { interventions, output: 'all' });
        s.dispose();
        const ds = m.maxAbsDiff(rest.logits, b.logits.subarray(5 * V));
        if (ds > 1e-3) bad.push(`${hook} layer ${layer}, across a session: ${ds}`);
      }
      const weights = Array.from({ length: K }, (_, k) => 0.9 - 0.2 * k);
      const force = { kind: 'force_experts', layer: L - 1, experts: Array.from({ length: K }, (_, k) => E - 1 - k), weights, positions: [1, 4] };
      const fa = await gpu.forward(ids, { output: 'all', interventions: [force] }), fb = await cpu.forward(ids, { output: 'all', interventions: [force] });
      if (m.maxAbsDiff(fa.logits, fb.logits) > 1e-3) bad.push(`routing patch: ${m.maxAbsDiff(fa.logits, fb.logits)}`);
      const clean = ids.slice(0, 6), corrupt = [...clean];
      corrupt[3] = (corrupt[3] + 1) % V;
      const last = (await cpu.forward(clean)).logits;
      const [answer, wrong] = [...last.keys()].sort((x: number, y: number) => last[y] - last[x]).slice(0, 2);
      let worstEffect = 0;
      for (const what of ['resid_pre', 'mlp_out', 'routing']) {
        const pa = await m.patchEffects(gpu, clean, corrupt, answer, wrong, { what }), pb = await m.patchEffects(cpu, clean, corrupt, answer, wrong, { what });
        const scale = Math.abs(pb.clean_diff - pb.corrupt_diff);
        worstEffect = Math.max(worstEffect, m.maxAbsDiff(pa.effect.flat().map((x: number) => x * scale), pb.effect.flat().map((x: number) => x * scale)));
      }
      const head = m.lensHead(c, ck.weights);
      const la = await m.logitLens(gpu, head, ids, { top: 3 }), lb = await m.logitLens(cpu, head, ids, { top: 3 });
      let worstLens = 0;
      la.layers.forEach((Ly: any, l: number) => Ly.resid.forEach((row: any[], t: number) => row.forEach((x, i) => { worstLens = Math.max(worstLens, Math.abs(x.prob - lb.layers[l].resid[t][i].prob)); })));
      gpu.dispose();
      device.destroy();
      return { bad, worstEffect, worstLens };
    }, { name, ids: c.expected.ids });
    console.log(`[research:chromium] ${name}: patched logit difference within ${r.worstEffect.toExponential(2)}, lens probabilities within ${r.worstLens.toExponential(2)}`);
    expect(r.bad).toEqual([]);
    expect(r.worstEffect).toBeLessThanOrEqual(4e-3);
    expect(r.worstLens).toBeLessThanOrEqual(1e-3);
    expect(errors.filter((e) => !e.includes('status of 404'))).toEqual([]);
  });
});

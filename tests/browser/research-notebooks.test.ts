// The two research notebooks in the built site, in headless Chromium on WebGPU (SwiftShader, small
// inputs from the address) and with WebGPU disabled (the CPU engine): "What does each expert do?"
// and "Compare and patch". Each opens without a cell error and finishes; its key numbers are
// checked against the same quantities computed here with the CPU engine in Node on the model files
// the page loaded. The model loads once per backend: one page each, the second notebook reached
// by changing the address's hash, as a reader following a link does (the site keeps its engine).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { launchChromium } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { ROOT, SUBPATH, buildSite, open, shot, waitForRest, type Backend, type OpenedPage } from './site-harness.ts';
import { directorySource } from '../../engine/node.ts';
import { loadModel, type Model } from '../../engine/model.ts';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { expertReport } from '../../engine/analysis/experts.ts';
import { patchEffects } from '../../engine/patch/patching.ts';
import { answerToken } from '../../engine/patch/answer-token.ts';
import { analyzeRouting } from '../../engine/analysis/analyze-routing.ts';
import type { Page } from 'playwright-core';

const DOMAINS = ['c', 'english', 'german', 'manpages', 'math', 'python'];
const heldout = (domain: string) => readFileSync(path.join(ROOT, 'training/data/heldout', `${domain}.txt`), 'utf8');
const TIMEOUT = 15 * 60_000;
type Data = Record<string, string>;
const datasets = (page: Page, selector: string) => page.locator(selector).evaluateAll((els) => els.map((e) => ({ ...(e as HTMLElement).dataset }) as Data));

describe('research notebooks in headless Chromium', () => {
  let server: StaticServer;
  let gpu: Backend, cpu: Backend;
  let model: Model, engine: CpuEngine;

  beforeAll(async () => {
    const www = await buildSite();
    server = await serveDirectory(www);
    model = await loadModel(directorySource(path.join(www, SUBPATH, 'mixscope-tiny')));
    engine = new CpuEngine(model.config, model.weights);
    gpu = { name: 'webgpu', browser: await launchChromium({ webgpu: true }) };
    cpu = { name: 'cpu', browser: await launchChromium({ webgpu: false }) };
  }, 300_000);
  afterAll(async () => { await gpu?.browser.close(); await cpu?.browser.close(); await server?.close(); });

  for (const which of ['webgpu', 'cpu'] as const) describe(`on ${which}`, () => {
    // WebGPU on SwiftShader prefills a few tokens a second: small samples from the address.
    const sample = which === 'webgpu' ? 16 : 256;
    let opened: OpenedPage | null = null;
    afterAll(async () => { await opened?.page.close(); });

    /** The notebook at `hash` in this backend's one page: opened the first time, then by its hash. */
    async function visit(hash: string): Promise<OpenedPage> {
      if (!opened) {
        opened = await open(which === 'webgpu' ? gpu.browser : cpu.browser, server, hash);
        await expect.poll(() => opened!.page.locator('.site-backend').getAttribute('data-backend'), { timeout: 120_000 }).toBe(which);
      } else {
        await opened.page.evaluate((h) => { location.hash = h; }, hash);
      }
      const slug = hash.slice(2).split('?')[0];
      await opened.page.waitForFunction((slug) => document.querySelector(`article.site-notebook[data-slug="${slug}"] .nb-notebook`), slug, { timeout: 60_000 });
      await waitForRest(opened.page, TIMEOUT, { untilDone: true });
      expect(await opened.page.locator('.site-backend').getAttribute('data-backend')).toBe(which);
      return opened;
    }

    it(`"What does each expert do?": dashboards, domain lift, a live lens and routing structure, as the engine computes them`, async () => {
      const hash = `#/what-does-each-expert-do${which === 'webgpu' ? `?sample=${sample}&structure=16&tokens=3` : ''}`;
      const { page, errors, outside } = await visit(hash);
      expect(await page.locator('.nb-notebook .nb-error').allTextContents()).toEqual([]);

      // The domain table: each domain's most specialised expert, as the engine's report gives it.
      const docs = DOMAINS.map((d) => model.tokenizer!.encode(heldout(d)).ids.slice(0, sample));
      const r = await expertReport(engine, docs, { top: 10, minCount: 3, tokenizer: model.tokenizer });
      const rows = await datasets(page, '.we-domains tbody tr');
      expect(rows.map((x) => x.domain)).toEqual(DOMAINS);
      for (const [d, row] of rows.entries()) {
        const all = r.layers.map((Ly) => Ly!.experts.map((x) => x.topk_share));
        const lift = (l: number, e: number) => (all[l][e] > 0 ? r.documents[d].topk_share[l]![e] / all[l][e] : 0);
        const best = Math.max(...all.flatMap((row2, l) => row2.map((_, e) => lift(l, e))));
        // On the CPU the page runs this very engine; WebGPU may flip a near-tie in a few tokens.
        if (which === 'cpu') {
          expect(Number(row.lift)).toBeCloseTo(best, 9);
          expect(lift(Number(row.layer), Number(row.expert))).toBeCloseTo(best, 9);
        } else expect(Math.abs(Number(row.lift) - best)).toBeLessThan(0.5);
      }
      // The dashboard shows a report of all six domains' tokens, and opens the expert a click names.
      expect(await page.locator('.mx-expert-dashboard .mx-dash-head').textContent()).toContain(`${DOMAINS.length * sample} tokens`);
      await page.locator('.we-domains tbody tr').nth(4).click();
      const math = rows[4];
      await expect.poll(() => page.locator('.mx-expert-dashboard .mx-dash-head').textContent()).toMatch(new RegExp(`^Layer ${math.layer} · expert E${math.expert}:`));
      await page.locator('.mx-expert-load rect.mx-bar[data-layer="3"][data-expert="2"]').dispatchEvent('click');
      await expect.poll(() => page.locator('.mx-expert-dashboard .mx-dash-head').textContent()).toMatch(/^Layer 3 · expert E2:/);

      // The live lens: at every generated position the last layer names the token written next.
      const check = (await datasets(page, '.we-lens-check'))[0];
      expect(Number(check.checked)).toBeGreaterThan(0);
      expect(check.agree).toBe(check.checked);
      expect(await page.locator('.mx-lens-grid g.mx-lens-col').count()).toBeGreaterThan(Number(check.checked));

      // Co-activation and transitions of the chosen domain, as analyze gives them.
      const structure = await analyzeRouting(engine, model.tokenizer!.encode(heldout('python')).ids.slice(0, which === 'webgpu' ? 16 : 256));
      const coRows = await page.evaluate(() => (document.querySelector('.mx-coactivation') as unknown as { rows(): Data[] }).rows());
      expect(coRows).toHaveLength(64);
      const tol = which === 'cpu' ? 1e-12 : 2 / 16;
      for (const row of coRows) expect(Math.abs(Number(row.share) - structure.layers[0]!.coactivation[Number(row.expert)][Number(row.with)])).toBeLessThanOrEqual(tol);
      expect(await page.locator('.mx-transitions image.mx-matrix').count()).toBe(model.config.num_hidden_layers - 1);
      await shot(page, `what-does-each-expert-do-${which}`);
      expect(errors).toEqual([]);
      expect(outside).toEqual([]);
    }, TIMEOUT);

    it(`"Compare and patch": compare mode, activation and routing patching, margins, as the engine computes them`, async () => {
      const [clean, corrupt] = which === 'webgpu' ? ['Das ist', 'This is'] : ['Das ist gut und', 'This is good und'];
      const params = new URLSearchParams({ ...(which === 'webgpu' ? { clean, corrupt, prompt: 'def f(n):', sample: '16' } : {}) });
      const { page, errors, outside } = await visit(`#/compare-and-patch${params.size ? `?${params}` : ''}`);
      expect(await page.locator('.nb-notebook .nb-error').allTextContents()).toEqual([]);

      // Compare: an expert switched off in layer 1 changes nothing before it, something in it.
      const compared = (await datasets(page, '.cp-compare-summary'))[0];
      expect(await page.locator('.mx-routing-diff rect.mx-diff-cell[data-layer="0"][data-changed="1"]').count()).toBe(0);
      expect(Number(compared.changed)).toBeGreaterThanOrEqual(0);
      expect(await page.locator('.cp-side .mx-token-strip').count()).toBe(2);

      // Patching: the clean and corrupted differences and every effect, as patchEffects gives them here.
      const tk = model.tokenizer!;
      const A = answerToken(model.config, tk, 'die'), B = answerToken(model.config, tk, 'the');
      const ref = await patchEffects(engine, tk.encode(clean).ids, tk.encode(corrupt).ids, A, B, { what: 'resid_pre' });
      const summary = (await datasets(page, '.cp-patch-summary'))[0];
      const tol = which === 'cpu' ? 1e-4 : 2e-3;
      expect(Math.abs(Number(summary.cleanDiff) - ref.clean_diff)).toBeLessThanOrEqual(tol);
      expect(Math.abs(Number(summary.corruptDiff) - ref.corrupt_diff)).toBeLessThanOrEqual(tol);
      const cells = await datasets(page, '.mx-patch-heatmap >> nth=0 >> g.mx-patch-cell');
      expect(cells).toHaveLength(ref.effect.length * ref.tokens.length);
      for (const c of cells) expect(Math.abs(Number(c.effect) - ref.effect[Number(c.layer)][Number(c.position)])).toBeLessThanOrEqual(which === 'cpu' ? 1e-4 : 1e-2);
      const routing = await patchEffects(engine, tk.encode(clean).ids, tk.encode(corrupt).ids, A, B, { what: 'routing' });
      const largest = Number((await datasets(page, '.cp-routing-summary'))[0].largest);
      const refLargest = routing.effect.flat().reduce((m, x) => (Math.abs(x) > Math.abs(m) ? x : m), 0);
      expect(Math.abs(largest - refLargest)).toBeLessThanOrEqual(which === 'cpu' ? 1e-4 : 1e-2);

      // Margins of the held-out text, as analyze gives them.
      const margins = await analyzeRouting(engine, tk.encode(heldout('english')).ids.slice(0, which === 'webgpu' ? 16 : 256));
      const shown = await datasets(page, '.cp-margins tbody tr');
      expect(shown).toHaveLength(model.config.num_hidden_layers);
      for (const row of shown) {
        const l = Number(row.layer);
        expect(Math.abs(Number(row.margin) - margins.layers[l]!.margin)).toBeLessThanOrEqual(which === 'cpu' ? 1e-9 : 1e-3);
        if (which === 'cpu') expect(Number(row.fragile)).toBe(margins.layers[l]!.fragile_share);
      }
      await shot(page, `compare-and-patch-${which}`);
      expect(errors).toEqual([]);
      expect(outside).toEqual([]);
    }, TIMEOUT);

    // On the CPU engine only: its forward never yields by itself (site/api/yielding-engine.ts); on
    // WebGPU every forward awaits the GPU, and a window of SwiftShader prefill takes minutes.
    if (which === 'cpu') it('the header\'s Stop button stops a long request in the worker between two forwards; the next request runs', async () => {
      const { page, errors } = opened ?? await visit('#/compare-and-patch');
      const stop = page.locator('.site-header .site-stop');
      // An expert report of many windows: the stop lands after the first window's progress.
      const run = page.evaluate(async () => {
        const w = window as unknown as { mixscopeClient: any; __progress: number; __total: number };
        const text = 'def f(n):\n    return n + 1\n'.repeat(500);
        w.__progress = 0;
        return w.mixscopeClient.experts([text], { onProgress: (d: number, t: number) => { w.__progress = d; w.__total = t; } }).then(() => 'finished', (e: Error) => e.name);
      });
      await page.waitForFunction(() => (window as unknown as { __progress: number }).__progress > 0, undefined, { timeout: 120_000, polling: 50 });
      expect(await stop.isEnabled()).toBe(true);
      await stop.click();
      expect(await run).toBe('AbortError');
      const [done, total] = await page.evaluate(() => { const w = window as unknown as { __progress: number; __total: number }; return [w.__progress, w.__total]; });
      expect(done).toBeLessThan(total);
      await expect.poll(() => stop.isEnabled()).toBe(false);
      // The worker is free again: a short lens comes back.
      const layers = await page.evaluate(() => (window as unknown as { mixscopeClient: any }).mixscopeClient.lens('Das ist', { top: 1 }).then((r: { layers: unknown[] }) => r.layers.length));
      expect(layers).toBe(model.config.num_hidden_layers);
      expect(errors).toEqual([]);
    }, TIMEOUT);
  });
});

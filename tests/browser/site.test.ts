// The built site in headless Chromium, as a workshop participant uses it: served from a sub-path
// of a static host with every request outside it refused (offline), the default model, the
// engine in its worker on WebGPU (SwiftShader here) and, with WebGPU disabled, on the CPU.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium } from './chromium.ts';
import chosenPrompts from '../../notebooks/default-prompts.json';
import { serveDirectory, type StaticServer } from './static-server.ts';
import {
  GENERATE_TIMEOUT, ROOT, SHOTS, SUBPATH, buildSite, editCell, everyViewInSight, longTasksDuringGeneration, open, promptTokens, shot, status, waitForDone, waitForRest, type Backend,
} from './site-harness.ts';

/** What each view of the tour holds, read from the views' DOM nodes. */
async function tourViews(page: Page) {
  return page.evaluate(() => {
    type V = HTMLElement & { rows(): Record<string, string | number>[] };
    const view = (cls: string) => document.querySelector<V>(`.mx-${cls}`)!;
    const strip = view('token-strip');
    const stripRows = strip.rows();
    const heat = view('router-heatmap').rows();
    const load = view('expert-load').rows();
    const loadPerLayer = new Map<number, number>();
    for (const r of load) loadPerLayer.set(Number(r.layer), (loadPerLayer.get(Number(r.layer)) ?? 0) + Number(r.first));
    const queries = (rows: Record<string, string | number>[]) => new Set(rows.map((r) => `${r.head}:${r.query}`)).size;
    const paths = view('routing-paths').rows();
    const next = view('next-token').rows();
    return {
      chips: strip.querySelectorAll('.mx-chip').length,
      stripTokens: stripRows.length,
      stripText: stripRows.map((r) => r.text).join(''),
      lastId: Number(stripRows.at(-1)?.id),
      heatRows: new Set(heat.map((r) => r.position)).size,
      heatCells: heat.length,
      loadTotals: [...loadPerLayer.values()],
      gridQueries: queries(view('attention-grid').rows()),
      mapQueries: queries(view('attention-map').rows()),
      pathPositions: [...new Set(paths.map((r) => r.position))],
      pathLayers: new Set(paths.map((r) => r.layer)).size,
      nextCandidates: next.length,
      nextChosen: next.filter((r) => r.chosen === 1).map((r) => Number(r.id)),
    };
  });
}

const longTasks: Record<string, unknown> = {};
/** The tour's default prompt (bench/choose-prompts.ts chooses it). */
const TOUR_PROMPT = chosenPrompts.prompts.tour;

describe('the site in headless Chromium', () => {
  let server: StaticServer;
  let gpu: Backend;
  let cpu: Backend;

  let built = '';

  beforeAll(async () => {
    built = await buildSite();
    server = await serveDirectory(built);
    gpu = { name: 'webgpu', browser: await launchChromium({ webgpu: true }) };
    cpu = { name: 'cpu', browser: await launchChromium({ webgpu: false }) };
  }, 180_000);

  afterAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    writeFileSync(path.join(SHOTS, 'longtasks.json'), JSON.stringify(longTasks, null, 2));
    await gpu?.browser.close();
    await cpu?.browser.close();
    await server?.close();
  });

  it('ships the views and d3, the cell editor and each notebook in chunks that start with V8\'s compile-everything hint', () => {
    // Without it each view's first draw, the first editor and a notebook's cells compile their code on the main thread.
    const assets = path.join(built, SUBPATH, 'assets');
    const files = readdirSync(assets);
    const chunk = (prefix: string) => {
      const found = files.filter((f) => f.startsWith(`${prefix}-`) && f.endsWith('.js'));
      expect(found, prefix).toHaveLength(1);
      return readFileSync(path.join(assets, found[0]), 'utf8');
    };
    const hinted = (code: string) => code.split('\n')[0] === '//# allFunctionsCalledOnLoad';
    const views = chunk('viz'), editor = chunk('editor');
    expect(hinted(views)).toBe(true);
    expect(hinted(editor)).toBe(true);
    // d3 is in the views' chunk (its SVG namespace), CodeMirror in the editor's.
    expect(views).toContain('http://www.w3.org/2000/svg');
    expect(editor).toContain('cm-editor');
    for (const notebook of ['tour', 'what-is-moe', 'router-step-by-step']) expect(hinted(chunk(notebook)), notebook).toBe(true);
    // The page's entry is not hinted (most of it runs at once anyway).
    expect(hinted(chunk('index'))).toBe(false);
  });

  it('lists every notebook with its title and summary, and opens each one without an error', async () => {
    // On the CPU engine: the WebGPU path of every notebook is covered by its own test, with small inputs.
    const { page, errors, outside } = await open(cpu.browser, server, '');
    await page.waitForSelector('.site-notebooks a');
    const listed = await page.locator('.site-notebooks a').evaluateAll((as) => as.map((a) => ({
      href: a.getAttribute('href')!, title: a.querySelector('strong')!.textContent!, summary: a.querySelector('span')!.textContent!,
    })));
    const files = ['tour', 'views-reference'];
    for (const slug of files) expect(listed.map((l) => l.href)).toContain(`#/${slug}`);
    for (const l of listed) { expect(l.title.length).toBeGreaterThan(3); expect(l.summary.length).toBeGreaterThan(20); }
    await shot(page, 'index');
    for (const { href, title } of listed) {
      await page.goto(`${server.url}${SUBPATH}${href}`);
      await page.waitForSelector(`.nb-notebook .nb-title`);
      expect(await page.locator('.nb-title').textContent()).toBe(title);
      // Finished, so the screenshot shows each notebook complete: its generations, analyses, steps.
      await waitForRest(page, 2 * GENERATE_TIMEOUT, { untilDone: true });
      const cellErrors = await page.locator('.nb-notebook .nb-error').allTextContents();
      expect(cellErrors, `${href} shows errors in its cells`).toEqual([]);
      await shot(page, href.replace('#/', ''));
    }
    expect(errors).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  }, 20 * 60_000);

  for (const which of ['webgpu', 'cpu'] as const) {
    it(`tour on ${which}: says which backend, generates 16 tokens, and every view holds all of them`, async () => {
      const backend = which === 'webgpu' ? gpu : cpu;
      const { page, errors, outside } = await open(backend.browser, server, '#/tour');
      const header = page.locator('.site-backend');
      await expect.poll(() => header.getAttribute('data-backend'), { timeout: 60_000 }).toBe(which);
      if (which === 'cpu') expect(await header.textContent()).toMatch(/^CPU \(.+\)$/);
      else expect(await header.textContent()).toMatch(/^WebGPU \(.+\)$/);
      const done = await waitForDone(page);
      expect(done.step).toBe(16);
      expect(done.text).toContain('reached the token limit');
      const T = (await promptTokens(page, TOUR_PROMPT)) + 16;
      // Views out of sight draw when the page is idle: wait for the strip's chips, then read all.
      await expect.poll(async () => (await tourViews(page)).chips).toBe(T);
      const v = await tourViews(page);
      expect(v.stripTokens).toBe(T);
      expect(v.heatRows).toBe(T);
      expect(v.heatCells).toBe(T * 8);
      expect(v.loadTotals).toEqual(new Array(6).fill(T));
      expect(v.gridQueries).toBe(8 * T);
      expect(v.mapQueries).toBe(T);
      expect(v.pathPositions).toEqual([T - 1]);
      expect(v.pathLayers).toBe(6);
      expect(v.nextCandidates).toBe(10);
      expect(v.nextChosen).toEqual([v.lastId]);
      expect(v.stripText.startsWith(`<s>${TOUR_PROMPT}`)).toBe(true);

      const spans = await longTasksDuringGeneration(page);
      longTasks[which] = { tokens: 16, ...spans };
      // Recorded, not asserted: main-thread task times are a performance target, measured by
      // `npm run bench:site` on a quiet machine (a test run shares two cores with the GPU emulation).
      console.log(`[site] ${which}: 16 tokens in ${spans.generationMs.toFixed(0)} ms; main-thread tasks over 50 ms during generation: ${spans.count} (longest ${spans.longest.toFixed(0)} ms)`);
      await shot(page, `tour-${which}`);
      expect(errors).toEqual([]);
      expect(outside).toEqual([]);
      await page.close();
    }, GENERATE_TIMEOUT + 120_000);
  }

  for (const which of ['webgpu', 'cpu'] as const) {
    it(`tour on ${which}: 256 tokens with every view on screen, attention included, and every view holds all of them`, async () => {
      const backend = which === 'webgpu' ? gpu : cpu;
      // Tall enough for the whole tour: no view waits for idle time, each redraws every frame.
      // (6400 px: the tour is 5.6-5.7k px tall at its first token, more on WebGPU for its note.)
      const { page, errors, outside } = await open(backend.browser, server, '#/tour?tokens=256', { height: 6400 });
      await expect.poll(() => page.locator('.site-backend').getAttribute('data-backend'), { timeout: 60_000 }).toBe(which);
      await page.waitForFunction(() => Number(document.querySelector('.tour-status')?.getAttribute('data-step') ?? 0) >= 1, undefined, { timeout: GENERATE_TIMEOUT, polling: 250 });
      const sight = await everyViewInSight(page);
      expect(sight.views).toBe(7);
      expect(sight.inSight, `views in sight of a ${sight.pageHeight}px page`).toBe(7);
      const done = await waitForDone(page);
      expect(['length', 'eos']).toContain(done.finish);
      expect(done.step === 256).toBe(done.finish === 'length');
      const T = (await promptTokens(page, TOUR_PROMPT)) + done.step;
      const v = await tourViews(page);
      expect(v.chips).toBe(T);
      expect(v.heatRows).toBe(T);
      expect(v.mapQueries).toBe(T);
      expect(v.gridQueries).toBe(8 * T);
      expect(v.loadTotals).toEqual(new Array(6).fill(T));
      const spans = await longTasksDuringGeneration(page);
      longTasks[`${which}-256`] = { tokens: done.step, ...spans };
      // Recorded here; the 50 ms target is checked by `npm run bench:site` (bench/site-long-tasks.ts).
      console.log(`[site] ${which}: ${done.step} tokens, every view in sight, in ${spans.generationMs.toFixed(0)} ms; main-thread tasks over 50 ms during generation: ${spans.count} (longest ${spans.longest.toFixed(0)} ms)`);
      await page.setViewportSize({ width: 1100, height: 900 });
      await shot(page, `tour-256-${which}`);
      expect(errors).toEqual([]);
      expect(outside).toEqual([]);
      await page.close();
    }, 2 * GENERATE_TIMEOUT);
  }

  it('a generation that fills the model\'s context ends there, and the tour says why', async () => {
    // A prompt of about 300 tokens leaves about 210 of the model's 512 positions: fewer than asked.
    const prompt = 'def add(a, b):\n    return a + b\n\n'.repeat(24);
    const { page, errors } = await open(cpu.browser, server, `#/tour?tokens=256&prompt=${encodeURIComponent(prompt)}`);
    const done = await waitForDone(page);
    const P = await page.evaluate(() => (window as unknown as { mixscopeClient: { info: { config: { max_position_embeddings: number } } } }).mixscopeClient.info.config.max_position_embeddings);
    const n = await promptTokens(page, prompt);
    expect(n + 256).toBeGreaterThan(P);
    expect(done.finish).toBe('context');
    expect(done.step).toBe(P - n);
    expect(done.text).toContain(`the model's context is full (it reads at most ${P} tokens)`);
    // Every token, the last one included, has its routing.
    await expect.poll(async () => (await tourViews(page)).chips).toBe(P);
    expect((await tourViews(page)).loadTotals).toEqual(new Array(6).fill(P));
    await shot(page, 'tour-context');
    expect(errors).toEqual([]);
    await page.close();
  }, 2 * GENERATE_TIMEOUT);

  it('30 generations on the tour (some stopped) leave the engine\'s live GPU bytes where the first left them', async () => {
    const { page, errors } = await open(gpu.browser, server, '#/tour?tokens=16');
    const header = page.locator('.site-backend');
    await expect.poll(() => header.getAttribute('data-backend'), { timeout: 60_000 }).toBe('webgpu');
    await waitForDone(page);
    type Stats = { gpu: { liveBuffers: number; liveBytes: number; created: number } };
    const stats = () => page.evaluate(() => (window as unknown as { mixscopeClient: { stats(): Promise<Stats> } }).mixscopeClient.stats());
    const loaded = await stats();
    const after: Stats['gpu'][] = [];
    for (let g = 0; g < 30; g++) {
      // The status line is a new element for every state: mark the old one, wait for a new done one.
      await page.evaluate(() => { (document.querySelector('.tour-status') as HTMLElement & { old?: boolean }).old = true; });
      await page.getByRole('button', { name: 'Generate again' }).click();
      if (g % 5 === 4) {
        // Every fifth is stopped after its second token (unless it is already done by then).
        await page.waitForFunction(() => {
          const s = document.querySelector('.tour-status') as (HTMLElement & { old?: boolean }) | null;
          return s !== null && !s.old && (s.dataset.done === 'true' || Number(s.dataset.step) >= 2);
        }, undefined, { timeout: GENERATE_TIMEOUT, polling: 50 });
        const stop = page.locator('.site-stop');
        if (await stop.isEnabled()) await stop.click({ timeout: 5_000 }).catch(() => {});
      }
      await page.waitForFunction(() => {
        const s = document.querySelector('.tour-status') as (HTMLElement & { old?: boolean }) | null;
        return s !== null && !s.old && s.dataset.done === 'true';
      }, undefined, { timeout: GENERATE_TIMEOUT, polling: 100 });
      // A stopped generation's last forward may still be running in the worker: stats queue behind it.
      after.push((await stats()).gpu);
    }
    const bytes = after.map((s) => s.liveBytes);
    const finishes = await status(page).getAttribute('data-finish');
    console.log(`[site] 30 generations on WebGPU: live GPU bytes after load ${loaded.gpu.liveBytes}, after the first generation ${bytes[0]}, max after ${Math.max(...bytes)}, last ${bytes[29]}; live buffers ${after[0].liveBuffers} -> ${after[29].liveBuffers}; buffers created ${after[29].created}`);
    longTasks['gpu-bytes-30-generations'] = { loaded: loaded.gpu, after };
    expect(Math.max(...bytes.slice(1))).toBeLessThanOrEqual(bytes[0]);
    expect(Math.max(...after.slice(1).map((s) => s.liveBuffers))).toBeLessThanOrEqual(after[0].liveBuffers);
    expect(after[29].created).toBeGreaterThan(after[0].created);
    expect(['length', 'eos', 'stopped']).toContain(finishes);
    expect(errors).toEqual([]);
    await page.close();
  }, 4 * GENERATE_TIMEOUT);

  it('Stop interrupts a long generation at once and the page carries on', async () => {
    const { page, errors } = await open(gpu.browser, server, '#/tour?tokens=256');
    await page.waitForFunction(() => Number(document.querySelector('.tour-status')?.getAttribute('data-step') ?? 0) >= 2, undefined, { timeout: GENERATE_TIMEOUT });
    const stop = page.locator('.site-stop');
    expect(await stop.isEnabled()).toBe(true);
    const t0 = Date.now();
    await stop.click();
    const done = await waitForDone(page);
    const ms = Date.now() - t0;
    console.log(`[site] Stop: generation ended ${ms} ms after the click, at ${done.step} tokens`);
    expect(done.text).toContain('stopped');
    expect(done.step).toBeLessThan(256);
    await page.waitForTimeout(1500);
    expect(Number(await status(page).getAttribute('data-step'))).toBe(done.step);
    expect(await stop.isDisabled()).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, GENERATE_TIMEOUT + 60_000);

  it('editing a cell re-runs what depends on it, and a throwing cell is contained', async () => {
    const { page, errors } = await open(cpu.browser, server, '#/tour');
    await waitForDone(page);
    const promptT = await promptTokens(page, TOUR_PROMPT);

    // The token count cell, edited and run with Shift-Enter: generation and every view follow.
    await editCell(page, 'Tokens to generate', 'viewof maxTokens = Inputs.range([1, 64], {label: "Tokens to generate", step: 1, value: 5})');
    await expect.poll(() => status(page).textContent(), { timeout: GENERATE_TIMEOUT }).toMatch(/^5 of 5 tokens/);
    await waitForDone(page);
    await expect.poll(async () => (await tourViews(page)).chips).toBe(promptT + 5);

    // A cell that throws shows its error in place; the other views keep working.
    await editCell(page, 'Router probabilities', 'heatmap = { throw new Error("this cell is broken on purpose"); }');
    const broken = page.locator('.nb-cell', { has: page.locator('.nb-error', { hasText: 'this cell is broken on purpose' }) });
    await expect.poll(() => broken.count()).toBeGreaterThan(0);
    await page.locator('textarea').first().fill('Once upon a time');
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    const stripText = () => page.evaluate(() => (document.querySelector('.mx-token-strip') as unknown as { rows(): { text: string }[] }).rows().map((r) => r.text).join(''));
    await expect.poll(stripText, { timeout: GENERATE_TIMEOUT }).toContain('Once upon a time');
    const done = await waitForDone(page);
    expect(done.step).toBe(5);
    const onceT = (await promptTokens(page, 'Once upon a time')) + 5;
    await expect.poll(() => page.locator('.mx-token-strip .mx-chip').count()).toBe(onceT);
    const v = await page.evaluate(() => ({
      chips: document.querySelectorAll('.mx-token-strip .mx-chip').length,
      loadBars: (document.querySelector('.mx-expert-load') as unknown as { rows(): unknown[] }).rows().length,
      heatmaps: document.querySelectorAll('.mx-router-heatmap').length,
    }));
    expect(v.chips).toBe(onceT);
    expect(v.loadBars).toBe(6 * 8);
    expect(v.heatmaps).toBe(0);
    await shot(page, 'tour-edited');
    expect(errors).toEqual([]);
    await page.close();
  }, 2 * GENERATE_TIMEOUT);

  it('shows model text containing HTML as text, never as markup', async () => {
    const evil = '<img src=x onerror=alert(1)><script>alert(2)</script>';
    const { page, errors, dialogs } = await open(cpu.browser, server, `#/tour?tokens=4&prompt=${encodeURIComponent(evil)}`);
    await waitForDone(page);
    const v = await tourViews(page);
    expect(v.stripText).toContain('<img src=x onerror=alert(1)>');
    expect(await page.locator('.nb-notebook img, .mx-view img, .nb-notebook script').count()).toBe(0);
    // The strip may be out of sight: it draws when the page is idle.
    await expect.poll(() => page.locator('.mx-token-strip').textContent()).toContain('<img');
    await page.locator('.mx-token-strip .mx-chip').nth(2).hover();
    await page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, GENERATE_TIMEOUT);

  it('a broken checkpoint opened through "Open your own model" shows an error and the page stays usable', async () => {
    const { page, errors } = await open(cpu.browser, server, '#/tour?tokens=3');
    await waitForDone(page);
    const dir = path.join(ROOT, 'models/mixscope-tiny');
    const weights = readFileSync(path.join(dir, 'model.safetensors'));
    await page.locator('.site-open').click();
    const dialog = page.locator('dialog.open-model');
    expect(await dialog.isVisible()).toBe(true);
    await dialog.locator('input[type=file]:not([webkitdirectory])').setInputFiles([
      { name: 'config.json', mimeType: 'application/json', buffer: readFileSync(path.join(dir, 'config.json')) },
      { name: 'tokenizer.json', mimeType: 'application/json', buffer: readFileSync(path.join(dir, 'tokenizer.json')) },
      // Cut off in the middle of the tensors.
      { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: weights.subarray(0, weights.length >> 1) },
    ]);
    const message = dialog.locator('.open-model-status.error');
    await expect.poll(() => message.textContent(), { timeout: 60_000 }).toMatch(/model\.safetensors/);
    console.log(`[site] broken checkpoint: "${await message.textContent()}"`);
    await shot(page, 'open-model-error');
    await dialog.getByRole('button', { name: 'Close' }).click();
    // The default model is still the one in use, and it still generates.
    expect(await page.locator('.site-model').textContent()).toContain('mixscope-tiny');
    await page.evaluate(() => document.querySelector('.tour-status')?.remove());
    await page.getByRole('button', { name: 'Generate again' }).click();
    expect((await waitForDone(page)).step).toBe(3);
    expect(errors.filter((e) => !/model\.safetensors/.test(e))).toEqual([]);
    await page.close();
  }, GENERATE_TIMEOUT);

  it('backend=cpu before the hash or in it forces the CPU engine, also when typed into an open page', async () => {
    const { page, errors } = await open(gpu.browser, server, '?backend=cpu#/tour?tokens=1');
    const header = page.locator('.site-backend');
    await expect.poll(() => header.getAttribute('data-backend'), { timeout: 60_000 }).toBe('cpu');
    expect(await header.textContent()).toBe('CPU (the CPU engine was asked for)');
    await waitForDone(page);
    await page.close();

    // An open page on WebGPU: adding the parameter to the hash starts the page again on the CPU.
    const second = await open(gpu.browser, server, '#/tour?tokens=1');
    const header2 = second.page.locator('.site-backend');
    await expect.poll(() => header2.getAttribute('data-backend'), { timeout: 60_000 }).toBe('webgpu');
    await second.page.evaluate(() => { location.hash = '#/tour?tokens=1&backend=cpu'; });
    await expect.poll(() => header2.getAttribute('data-backend'), { timeout: 60_000 }).toBe('cpu');
    expect(await header2.textContent()).toBe('CPU (the CPU engine was asked for)');
    await waitForDone(second.page);
    expect(errors).toEqual([]);
    expect(second.errors).toEqual([]);
    await second.page.close();
  }, GENERATE_TIMEOUT);

  it('keeps prompt, layer and head in the address, so a link opens the same view', async () => {
    const { page, errors } = await open(cpu.browser, server, '#/tour?tokens=2&prompt=Hello%20there&layer=3&head=5');
    await waitForDone(page);
    expect(await page.locator('textarea').first().inputValue()).toBe('Hello there');
    // Polled: views out of sight draw their latest data when the page is next idle.
    await expect.poll(() => page.locator('.mx-token-strip .mx-legend').textContent()).toContain('layer 3');
    await expect.poll(() => page.locator('.mx-attention-map .mx-legend').textContent()).toContain('head 5');
    // Moving the layer slider writes the address.
    const layer = page.getByLabel('Layer', { exact: true });
    await layer.fill('4');
    await layer.dispatchEvent('input');
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('layer=4');
    expect(errors).toEqual([]);
    await page.close();
  }, GENERATE_TIMEOUT);
});

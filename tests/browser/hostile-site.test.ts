// The built site in headless Chromium against hostile input (tests/hostile/hostile-checkpoints.ts)
// through "Open your own model", from files and from a URL: each error shows as one line (the
// whole message one click away), the page stays responsive (a forward on the model in use answers
// within 2 s) and the model in use stays, with no reload. Loads that hang are stopped by Stop,
// the header's Stop and "Back to the default model"; a bad load leaves a running generation be.
// And the GPU device destroyed mid-decode: the generation finishes on the CPU engine and the
// header says so. The device is reached from the test through the worker's own globals (a wrapper
// around GPUDevice.prototype.pushErrorScope records each device that runs work): nothing in the
// site is there for the test. Measurements go to test-results/hostile/site.json.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page, Worker } from 'playwright-core';
import { launchChromium } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { GENERATE_TIMEOUT, ROOT, buildSite, open, shot, status, waitForDone, waitForRest, type Backend } from './site-harness.ts';
import { HOSTILE_CASES, buildHostile, type HostileCase } from '../hostile/hostile-checkpoints.ts';
import { TINY_CONFIG } from '../../engine/checkpoint/testing/tiny-checkpoint.ts';

const RESULTS = path.join(ROOT, 'test-results/hostile');
const measured: Record<string, unknown> = {};

type Client = { forward(text: string): Promise<unknown>; state: { phase: string; info: { label: string; backend: string } | null; error: string | null } };

/** A forward on the model in use, timed in the page: the page and its engine still answer. */
async function forwardMs(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const client = (window as unknown as { mixscopeClient: Client }).mixscopeClient;
    const t0 = performance.now();
    await client.forward('Hello there');
    return performance.now() - t0;
  });
}

const clientState = (page: Page) => page.evaluate(() => (window as unknown as { mixscopeClient: Client }).mixscopeClient.state);

/** The dialog's error line: its summary (always shown), and the whole text behind it. */
async function dialogError(page: Page): Promise<{ line: string; whole: string }> {
  const error = page.locator('dialog.open-model details.open-model-status.error');
  await expect.poll(() => error.isVisible(), { timeout: 60_000 }).toBe(true);
  return { line: (await error.locator('summary').textContent()) ?? '', whole: (await error.locator('.error-line-full').textContent()) ?? '' };
}

/** One line in the dialog and in the header, saying what the case must say; the model in use answers. */
async function expectRefused(page: Page, c: Pick<HostileCase, 'name' | 'message'>, how: string, started: number): Promise<void> {
  const { line, whole } = await dialogError(page);
  const shownMs = Date.now() - started;
  const header = (await page.locator('.site-header .site-error summary').textContent()) ?? '';
  const ms = await forwardMs(page);
  const state = await clientState(page);
  measured[`${how}: ${c.name}`] = { shownMs, lineChars: line.length, wholeChars: whole.length, forwardMs: Math.round(ms), line };
  expect(whole).toMatch(c.message);
  expect(line).not.toMatch(/\n/);
  expect(line.length).toBeLessThanOrEqual(160);
  expect(whole.length).toBeLessThan(400);
  expect(header).toBe(line);
  expect(state.info?.label).toBe('mixscope-tiny');
  expect(state.phase).toBe('error');
  expect(ms).toBeLessThan(2000);
}

async function openDialog(page: Page) {
  const dialog = page.locator('dialog.open-model');
  if (!(await dialog.isVisible())) await page.locator('.site-open').click();
  return dialog;
}

describe('hostile input in the site, in headless Chromium', () => {
  let server: StaticServer;
  let cpu: Backend;
  let gpu: Backend;
  /** Requests for the stalling checkpoint's weights the server has answered, and those it has seen close (the client gave up on them). */
  const stalling: string[] = [];
  const closed: string[] = [];
  let hostileRoot: string;

  beforeAll(async () => {
    const www = await buildSite();
    hostileRoot = path.join(www, 'hostile');
    for (const c of HOSTILE_CASES) buildHostile(hostileRoot, c);
    // A checkpoint whose weights never finish arriving: its header comes, then nothing.
    const stall = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(1e9) });
      if (req.method === 'HEAD') { res.end(); return; }
      res.write(Buffer.from([16, 0, 0, 0, 0, 0, 0, 0]));
      stalling.push(req.url ?? '');
      req.on('close', () => closed.push(req.url ?? ''));
    };
    server = await serveDirectory(www, { '/stall/config.json': JSON.stringify(TINY_CONFIG) }, { '/stall/model.safetensors': stall });
    cpu = { name: 'cpu', browser: await launchChromium({ webgpu: false }) };
    gpu = { name: 'webgpu', browser: await launchChromium({ webgpu: true }) };
  }, 300_000);

  afterAll(async () => {
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(path.join(RESULTS, 'site.json'), JSON.stringify(measured, null, 2));
    await cpu?.browser.close();
    await gpu?.browser.close();
    await server?.close();
  });

  it('an address value an input does not take (?excerpt=99999) gets a note and the default, not a cell error', async () => {
    const { page, errors } = await open(cpu.browser, server, '#/expert-specialisation?excerpt=99999');
    const note = page.locator('.url-note', { hasText: 'excerpt=99999' });
    await expect.poll(() => note.count(), { timeout: 60_000 }).toBe(1);
    await waitForRest(page);
    expect(await page.locator('.nb-notebook .nb-error').allTextContents()).toEqual([]);
    expect(await note.textContent()).toMatch(/which this input does not take .*using 200/);
    expect(page.url()).toContain('excerpt=200');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('every hostile checkpoint chosen as files: one line, the model in use stays and answers within 2 s, no reload', async () => {
    const { page, errors } = await open(cpu.browser, server, '#/tour?tokens=2');
    await waitForDone(page);
    const navigations: string[] = [];
    // A reload loads the document again ('load'); the address's own updates (a generation's seed
    // written into the hash) are same-document navigations and do not count.
    page.on('load', () => navigations.push(page.url()));
    for (const c of HOSTILE_CASES) {
      const dialog = await openDialog(page);
      const dir = path.join(hostileRoot, c.name);
      const started = Date.now();
      await dialog.locator('input[type=file]:not([webkitdirectory])').setInputFiles(readdirSync(dir).map((f) => path.join(dir, f)));
      await expectRefused(page, c, 'files', started);
      if (c.name === 'header-string-10mb') {
        await shot(page, 'hostile-open-model-error');
        await dialog.getByRole('button', { name: 'Close' }).click();
        await page.locator('.site-header .site-error summary').click();
        await shot(page, 'hostile-header-error-open');
        await page.locator('.site-header .site-error summary').click();
      }
    }
    await page.locator('dialog.open-model').getByRole('button', { name: 'Close' }).click().catch(() => {});
    // The default model still generates.
    await page.evaluate(() => document.querySelector('.tour-status')?.remove());
    await page.getByRole('button', { name: 'Generate again' }).click();
    expect((await waitForDone(page)).step).toBe(2);
    expect(navigations).toEqual([]);
    expect(errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
    await page.close();
  }, GENERATE_TIMEOUT);

  it('hostile checkpoints from a URL (two 16 GiB tensors, a 100 MB header string, 5 million levels of nesting): one line each', async () => {
    const { page, errors } = await open(cpu.browser, server, '#/tour?tokens=2');
    await waitForDone(page);
    for (const c of HOSTILE_CASES.filter((x) => ['two-16gib-tensors', 'header-string-100mb', 'header-nested-5m', 'config-layers-1e8', 'nan-q-weight'].includes(x.name))) {
      const dialog = await openDialog(page);
      await dialog.locator('.open-model-url input[type=url]').fill(`${server.url}/hostile/${c.name}/`);
      const started = Date.now();
      await dialog.getByRole('button', { name: 'Load URL' }).click();
      await expectRefused(page, c, 'url', started);
    }
    expect(errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
    await page.close();
  }, GENERATE_TIMEOUT);

  it('a bad checkpoint loaded while a generation runs leaves the generation to finish', async () => {
    // The longest generation the tour makes: the bad load's error must show while it still runs,
    // on a loaded machine too (the load's requests take turns with the tokens in the worker).
    const { page, errors } = await open(cpu.browser, server, '#/tour?tokens=256');
    await expect.poll(() => status(page).getAttribute('data-step'), { timeout: 120_000 }).not.toBeNull();
    await expect.poll(async () => Number(await status(page).getAttribute('data-step')), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
    expect(await status(page).getAttribute('data-done')).toBe('false');
    const dialog = await openDialog(page);
    await dialog.locator('.open-model-url input[type=url]').fill(`${server.url}/hostile/header-nested-5m/`);
    const started = Date.now();
    await dialog.getByRole('button', { name: 'Load URL' }).click();
    await dialogError(page);
    const shownMs = Date.now() - started;
    const stepAtError = Number(await status(page).getAttribute('data-step'));
    const done = await waitForDone(page);
    measured['generation during a bad load'] = { shownMs, stepAtError, step: done.step, finish: done.finish };
    expect(stepAtError).toBeLessThan(256);
    expect(done).toMatchObject({ step: 256, finish: 'length' });
    expect(errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
    await page.close();
  }, GENERATE_TIMEOUT);

  it('a load that hangs is ended by Stop loading, by the header\'s Stop and by "Back to the default model"; the model in use answers meanwhile', async () => {
    const { page, errors } = await open(cpu.browser, server, '#/tour?tokens=2');
    await waitForDone(page);
    const stalled = async () => {
      const dialog = await openDialog(page);
      const before = stalling.length;
      await dialog.locator('.open-model-url input[type=url]').fill(`${server.url}/stall/`);
      await dialog.getByRole('button', { name: 'Load URL' }).click();
      await expect.poll(async () => (await clientState(page)).phase).toBe('loading');
      // Stuck where it reads the weights (the stalling answer has begun), not before.
      await expect.poll(() => stalling.length, { timeout: 30_000 }).toBe(before + 1);
      // Loading, and stuck: the page and the model in use still answer.
      expect(await forwardMs(page)).toBeLessThan(2000);
      return dialog;
    };
    const closedBefore = closed.length;

    // 1. The dialog's Stop loading.
    let dialog = await stalled();
    await dialog.getByRole('button', { name: 'Stop loading' }).click();
    await expect.poll(() => dialog.locator('.open-model-status').first().textContent()).toBe('Loading stopped: the model in use stays.');
    expect(await clientState(page)).toMatchObject({ phase: 'ready', error: null, info: { label: 'mixscope-tiny' } });
    await expect.poll(() => closed.length, { timeout: 15_000 }).toBe(closedBefore + 1);

    // 2. The header's Stop, with the dialog closed and the load still running.
    dialog = await stalled();
    await dialog.getByRole('button', { name: 'Close' }).click();
    const stop = page.locator('.site-stop');
    expect(await stop.isDisabled()).toBe(false);
    await stop.click();
    await expect.poll(async () => (await clientState(page)).phase).toBe('ready');
    await expect.poll(() => closed.length, { timeout: 15_000 }).toBe(closedBefore + 2);
    expect(await stop.isDisabled()).toBe(true);

    // 3. "Back to the default model" replaces the stalled load.
    dialog = await stalled();
    await dialog.getByRole('button', { name: 'Back to the default model' }).click();
    await expect.poll(async () => (await clientState(page)).phase, { timeout: 60_000 }).toBe('ready');
    await expect.poll(() => closed.length, { timeout: 15_000 }).toBe(closedBefore + 3);
    expect(await dialog.isVisible()).toBe(false);
    expect((await clientState(page)).info?.label).toBe('mixscope-tiny');
    expect(await forwardMs(page)).toBeLessThan(2000);
    measured['stalled loads closed by the page'] = closed.length - closedBefore;
    expect(errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
    await page.close();
  }, GENERATE_TIMEOUT);

  describe('the GPU device lost', () => {
    /** Record every GPU device the worker runs work on, from the worker's own globals. */
    async function watchDevices(page: Page): Promise<Worker> {
      const worker = page.workers()[0] ?? await page.waitForEvent('worker');
      await worker.evaluate(() => {
        const g = self as unknown as { __devices?: Set<GPUDevice> };
        g.__devices = new Set();
        const push = GPUDevice.prototype.pushErrorScope;
        GPUDevice.prototype.pushErrorScope = function (this: GPUDevice, filter: GPUErrorFilter) { g.__devices!.add(this); return push.call(this, filter); };
      });
      return worker;
    }
    const destroyDevices = (worker: Worker) => worker.evaluate(() => {
      const devices = [...((self as unknown as { __devices: Set<GPUDevice> }).__devices)];
      for (const d of devices) d.destroy();
      return devices.length;
    });

    it('mid-decode: the generation finishes on the CPU engine, with no error shown, and the header says CPU and why', async () => {
      const { page, errors } = await open(gpu.browser, server, '#/tour?tokens=48');
      const worker = await watchDevices(page);
      const backend = page.locator('.site-backend');
      await expect.poll(() => backend.getAttribute('data-backend'), { timeout: 120_000 }).toBe('webgpu');
      // Record any cell error from now on, however briefly it shows.
      await page.evaluate(() => {
        const w = window as unknown as { __cellErrors: string[] };
        w.__cellErrors = [];
        new MutationObserver(() => { for (const e of document.querySelectorAll('.nb-error')) w.__cellErrors.push(e.textContent ?? ''); })
          .observe(document.body, { subtree: true, childList: true });
      });
      await expect.poll(async () => Number(await status(page).getAttribute('data-step')), { timeout: 120_000 }).toBeGreaterThanOrEqual(4);
      const stepAtLoss = Number(await status(page).getAttribute('data-step'));
      expect(await status(page).getAttribute('data-done')).toBe('false');
      expect(await destroyDevices(worker)).toBeGreaterThan(0);
      await expect.poll(() => backend.getAttribute('data-backend'), { timeout: 60_000 }).toBe('cpu');
      const done = await waitForDone(page);
      const description = await backend.textContent();
      const cellErrors = await page.evaluate(() => (window as unknown as { __cellErrors: string[] }).__cellErrors);
      measured['device lost mid-decode'] = { stepAtLoss, step: done.step, finish: done.finish, header: description, cellErrors };
      await shot(page, 'hostile-device-lost');
      expect(stepAtLoss).toBeLessThan(48);
      expect(done).toMatchObject({ step: 48, finish: 'length' });
      expect(description).toBe('CPU (the WebGPU device was lost (destroyed))');
      expect(cellErrors).toEqual([]);
      expect(await page.locator('.site-error').isVisible()).toBe(false);
      expect(errors).toEqual([]);
      await page.close();
    }, GENERATE_TIMEOUT);

    it('mid-prefill: a generation from a long prompt, started by the page\'s client, completes on the CPU engine', async () => {
      const { page, errors } = await open(gpu.browser, server, '#/');
      const worker = await watchDevices(page);
      await expect.poll(async () => (await clientState(page)).info?.backend, { timeout: 120_000 }).toBe('webgpu');
      // Started, not awaited: the prompt's forward (120 tokens) takes seconds on SwiftShader.
      await page.evaluate(() => {
        const client = (window as unknown as { mixscopeClient: { generate(p: string, o: object): AsyncGenerator<{ step: number; done: boolean; finish?: string; tokens: unknown[] }> } }).mixscopeClient;
        const w = window as unknown as { __result: Promise<{ step: number; finish?: string; tokens: number; states: number }> };
        w.__result = (async () => {
          let last: { step: number; finish?: string; tokens: unknown[] } = { step: 0, tokens: [] }, states = 0;
          for await (const s of client.generate('the quick brown fox jumps over the lazy dog. '.repeat(12), { maxTokens: 6 })) { last = s; states++; }
          return { step: last.step, finish: last.finish, tokens: last.tokens.length, states };
        })();
      });
      await new Promise((r) => setTimeout(r, 150));
      expect(await destroyDevices(worker)).toBeGreaterThan(0);
      const result = await page.evaluate(() => (window as unknown as { __result: Promise<unknown> }).__result) as { step: number; finish: string; tokens: number };
      const promptTokens = await page.evaluate(() => (window as unknown as { mixscopeClient: { tokenizer: { encode(t: string): { ids: number[] } } } }).mixscopeClient.tokenizer.encode('the quick brown fox jumps over the lazy dog. '.repeat(12)).ids.length);
      measured['device lost mid-prefill'] = { ...result, promptTokens };
      expect(result).toMatchObject({ step: 6, finish: 'length' });
      expect(result.tokens).toBe(promptTokens + 6);
      expect((await clientState(page)).info?.backend).toBe('cpu');
      expect(errors).toEqual([]);
      await page.close();
    }, GENERATE_TIMEOUT);

    it('while idle: the header says CPU at once, and the next forward and generation run on the CPU', async () => {
      const { page, errors } = await open(gpu.browser, server, '#/tour?tokens=3');
      const worker = await watchDevices(page);
      await waitForDone(page);
      const backend = page.locator('.site-backend');
      expect(await backend.getAttribute('data-backend')).toBe('webgpu');
      // The status the tour shows again once it re-runs on the new engine: take the old one away.
      await page.evaluate(() => document.querySelector('.tour-status')?.remove());
      expect(await destroyDevices(worker)).toBeGreaterThan(0);
      await expect.poll(() => backend.getAttribute('data-backend'), { timeout: 30_000 }).toBe('cpu');
      // The tour re-runs on the new engine by itself; then a forward answers on the CPU engine.
      expect((await waitForDone(page)).step).toBe(3);
      const ms = await forwardMs(page);
      measured['device lost while idle'] = { forwardMs: Math.round(ms) };
      expect(ms).toBeLessThan(2000);
      expect(errors).toEqual([]);
      await page.close();
    }, GENERATE_TIMEOUT);
  });
});

// The site's "Open from the Hugging Face Hub" in headless Chromium against the fake Hub (two
// other origins: the Hub and its CDN), with every other request refused: the dialog checks the
// size first, downloads, opens and generates; a reload opens the same model from the browser's
// cache with no request at all; gated, missing and unreachable models say what to do; the stored
// list removes what it holds. On WebGPU (SwiftShader) the check shows this adapter's limits and
// refuses a model whose expert cannot fit one buffer, before any download.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import path from 'node:path';
import { launchChromium, watchErrors } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { SHOTS, SUBPATH, buildSite } from './site-harness.ts';
import { startFakeHub, type FakeHub } from '../hub/fake-hub.ts';
import { projectRepos } from '../hub/hub-helpers.ts';

const TIMEOUT = 240_000;

/** A Mixtral whose one expert needs 34 GB in f32: no adapter binds that much. Its "weights" are never fetched. */
const HUGE_CONFIG = JSON.stringify({
  model_type: 'mixtral', vocab_size: 64, hidden_size: 8192, intermediate_size: 1 << 20, num_hidden_layers: 1,
  num_attention_heads: 64, num_key_value_heads: 8, num_local_experts: 2, num_experts_per_tok: 1,
});

describe('the site opens models from the Hugging Face Hub', () => {
  let server: StaticServer;
  let hub: FakeHub;
  let cpu: Browser;
  let gpu: Browser;

  beforeAll(async () => {
    hub = await startFakeHub({ repos: [...projectRepos(), { id: 'big/huge-mixtral', files: { 'config.json': HUGE_CONFIG, 'model.safetensors': new Uint8Array(1024) } }] });
    server = await serveDirectory(await buildSite());
    cpu = await launchChromium({ webgpu: false });
    gpu = await launchChromium({ webgpu: true });
  }, 180_000);
  afterAll(async () => {
    await cpu?.close();
    await gpu?.close();
    await server?.close();
    await hub?.close();
  });

  /** The site, offline but for the fake Hub and its CDN; `context` keeps the cache across pages. */
  async function openSite(page: Page): Promise<{ errors: string[]; outside: string[] }> {
    const errors = watchErrors(page);
    const outside: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(server.url) || url.startsWith(hub.url) || url.startsWith(hub.cdnUrl)) return route.continue();
      outside.push(url);
      return route.abort();
    });
    await page.goto(`${server.url}${SUBPATH}#/`);
    await page.waitForFunction(() => document.querySelector('.site-model')?.textContent?.includes('parameters'), undefined, { timeout: TIMEOUT });
    return { errors, outside };
  }

  async function check(page: Page, model: string, { token = '', endpoint = hub.url } = {}): Promise<string> {
    if (!(await page.locator('dialog.open-model').isVisible())) await page.locator('.site-open').click();
    const hubForm = page.locator('.open-hub-form');
    await hubForm.locator('input[name="open-hub-model"]').fill(model);
    await hubForm.locator('input[name="open-hub-token"]').fill(token);
    if ((await page.locator('.open-hub-more').getAttribute('open')) === null) await page.locator('.open-hub-more summary').click();
    await hubForm.locator('input[name="open-hub-endpoint"]').fill(endpoint);
    await page.locator('.open-hub-result').evaluate((el) => el.replaceChildren());
    await page.locator('.open-hub-check').click();
    await page.waitForFunction(() => {
      const r = document.querySelector('.open-hub-result');
      return r && (r.classList.contains('error') || r.querySelector('.open-hub-plan'));
    }, undefined, { timeout: TIMEOUT });
    return (await page.locator('.open-hub-result').textContent()) ?? '';
  }

  const generateText = (page: Page) => page.evaluate(async () => {
    const client = (window as unknown as { mixscopeClient: { info: { label: string }; generate(p: string, o: object): AsyncGenerator<{ text: string; done: boolean; step: number }> } }).mixscopeClient;
    let last = { text: '', step: 0 };
    for await (const s of client.generate('Once upon a time', { maxTokens: 8, temperature: 0 })) last = s;
    return { label: client.info.label, text: last.text, step: last.step };
  });

  const hubRequests = (from: number) => hub.requests.slice(from).filter((q) => q.method !== 'OPTIONS');

  it('checks the size, downloads, opens and generates; a reload opens it from the cache with no request; Remove empties the cache', async () => {
    const context = await cpu.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const { errors, outside } = await openSite(page);

    let mark = hub.requests.length;
    const plan = await check(page, 'mixscope/tiny');
    // Before the download: the files and their sizes, the engine's memory; no weights fetched yet.
    const weights = hub.file('mixscope/tiny', 'model.safetensors').bytes.length;
    expect(plan).toContain('model.safetensors');
    expect(plan).toMatch(/Download\s*\d+(\.\d+)? MB/);
    // The CPU engine keeps the F16 checkpoint as stored (issue 17): the dialog's Automatic choice.
    expect(plan).toContain('in memory on the CPU engine (f16');
    expect(hubRequests(mark).filter((q) => q.server === 'cdn' && q.method === 'GET')).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, 'open-hub-plan-1400.png') });
    // The catalog: real checkpoints with their numbers from the shipped configs.
    const catalog = page.locator('.open-hub-catalog tbody tr');
    expect(await catalog.count()).toBe(6);
    expect(await page.locator('.open-hub-catalog tr[data-repo="mistralai/Mixtral-8x7B-v0.1"]').textContent()).toMatch(/46\.7 B \(12\.9 B\)\s*93\.4 GB/);
    await page.locator('.open-hub-catalog').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, 'open-hub-catalog-1400.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('.open-hub-result').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, 'open-hub-plan-390.png') });
    await page.locator('.open-hub-catalog').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, 'open-hub-catalog-390.png') });
    await page.setViewportSize({ width: 1400, height: 1000 });

    await page.locator('.open-hub-open').click();
    await page.waitForFunction(() => !document.querySelector('dialog.open-model')?.hasAttribute('open'), undefined, { timeout: TIMEOUT });
    const first = await generateText(page);
    expect(first.label).toBe('mixscope/tiny');
    expect(first.step).toBe(8);
    const cdnBytes = hubRequests(mark).filter((q) => q.server === 'cdn' && q.method === 'GET').reduce((a, q) => a + q.bytes, 0);
    expect(cdnBytes).toBe(weights);

    // A new page in the same browser profile: the stored list shows it, and opening asks nothing.
    await page.close();
    const again = await context.newPage();
    const second = await openSite(again);
    mark = hub.requests.length;
    await again.locator('.site-open').click();
    await again.waitForFunction(() => document.querySelector('.open-hub-stored li'), undefined, { timeout: 30_000 });
    expect(await again.locator('.open-hub-stored li').first().textContent()).toContain('mixscope/tiny from http://127.0.0.1');
    await again.locator('.open-hub-stored li button', { hasText: 'Open' }).first().click();
    await again.waitForFunction(() => document.querySelector('.open-hub-plan'), undefined, { timeout: TIMEOUT });
    expect(await again.locator('.open-hub-result').textContent()).toContain('nothing: all');
    await again.locator('dialog.open-model').screenshot({ path: path.join(SHOTS, 'open-hub-stored-1400.png') });
    await again.locator('.open-hub-open', { hasText: 'Open from this browser' }).click();
    await again.waitForFunction(() => !document.querySelector('dialog.open-model')?.hasAttribute('open'), undefined, { timeout: TIMEOUT });
    const cached = await generateText(again);
    expect(cached).toEqual(first);
    expect(hubRequests(mark)).toEqual([]);

    // Remove: the list and the cache are empty again.
    await again.locator('.site-open').click();
    await again.waitForFunction(() => document.querySelector('.open-hub-stored li'));
    await again.locator('.open-hub-stored li button', { hasText: 'Remove' }).click();
    await again.waitForFunction(() => !document.querySelector('.open-hub-stored li'));
    const left = await again.evaluate(async () => { const c = await caches.open('mixscope-hub-v1'); return (await c.keys()).length; });
    expect(left).toBe(0);
    expect(outside).toEqual([]);
    expect(second.outside).toEqual([]);
    expect([...errors, ...second.errors].filter((e) => !/status of 40[134]/.test(e))).toEqual([]);
    await context.close();
  }, TIMEOUT);

  it('says what to do for a gated model, a missing one, a missing revision and an unreachable Hub', async () => {
    const page = await cpu.newPage({ viewport: { width: 1400, height: 1000 } });
    await openSite(page);
    expect(await check(page, 'gated/f32-mha')).toContain(`gated/f32-mha is a gated model: accept its conditions at ${hub.url}/gated/f32-mha, then paste an access token`);
    await page.locator('dialog.open-model').screenshot({ path: path.join(SHOTS, 'open-hub-gated-1400.png') });
    expect(await check(page, 'gated/f32-mha', { token: 'hf_wrong' })).toContain('this token has no access yet');
    expect(await check(page, 'nobody/nothing')).toContain(`No model nobody/nothing on ${hub.url}; if it is private, paste an access token above`);
    expect(await check(page, 'mixscope/tiny@v9')).toContain('mixscope/tiny has no revision "v9"');
    expect(await check(page, 'mixscope/tiny', { endpoint: 'http://127.0.0.1:9' })).toContain('Cannot reach http://127.0.0.1:9');
    expect(await check(page, 'not a model id')).toContain('is not a Hub model id');
    await page.close();
  }, TIMEOUT);

  it('on WebGPU, shows the adapter\'s binding limit and refuses, before any download, a model whose expert cannot fit one buffer', async () => {
    const page = await gpu.newPage({ viewport: { width: 1400, height: 1000 } });
    await openSite(page);
    const fits = await check(page, 'mixscope/tiny');
    expect(fits).toMatch(/on the GPU in f(16|32).*this adapter binds up to \d/);
    expect(await page.locator('.open-hub-open').count()).toBe(1);
    const mark = hub.requests.length;
    const refused = await check(page, 'big/huge-mixtral');
    expect(refused).toMatch(/Not opened: cannot run here in f32: model\.layers\.\*\.block_sparse_moe\.experts\.\*\.w1\.weight needs 34\.4 GB in one buffer, and this adapter binds at most [\d.]+ [MG]B/);
    expect(await page.locator('.open-hub-open').count()).toBe(0);
    expect(hubRequests(mark).filter((q) => q.server === 'cdn' && q.method === 'GET')).toEqual([]);
    await page.locator('dialog.open-model').screenshot({ path: path.join(SHOTS, 'open-hub-refused-1400.png') });
    await page.close();
  }, TIMEOUT);
});

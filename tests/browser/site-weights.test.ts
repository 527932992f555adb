// The open dialog's weight format in headless Chromium, on the CPU engine: a model opened in q8
// loads its matrices in 8 bits in the worker (the header's model info says so, with the bytes
// held) and generates; a format that does not fit is refused with the numbers before a download.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import path from 'node:path';
import { launchChromium } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { SHOTS, SUBPATH, buildSite, open } from './site-harness.ts';

const TIMEOUT = 240_000;

describe('the open dialog\'s weight format', () => {
  let server: StaticServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await serveDirectory(await buildSite());
    browser = await launchChromium({ webgpu: false });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('opens the default model in q8 on the CPU engine and generates', async () => {
    const { page, errors, outside } = await open(browser, server, '?backend=cpu#/', { width: 1400, height: 1000, backend: 'auto' });
    await page.waitForFunction(() => document.querySelector('.site-model')?.textContent?.includes('parameters'), undefined, { timeout: TIMEOUT });
    await page.locator('.site-open').click();
    await page.locator('select[name="weights"]').selectOption('q8');
    await page.locator('.open-model-url input').fill(`${server.url}${SUBPATH}mixscope-tiny/`);
    await page.screenshot({ path: path.join(SHOTS, 'open-weights-q8-1400.png') });
    await page.locator('.open-model-url button').click();
    await page.waitForFunction(() => !document.querySelector('dialog.open-model')?.hasAttribute('open'), undefined, { timeout: TIMEOUT });
    const r = await page.evaluate(async () => {
      const client = (window as unknown as { mixscopeClient: { info: { backend: string; weights: { format: string | null; bytes: number | null } }; generate(p: string, o: object): AsyncGenerator<{ text: string; step: number }> } }).mixscopeClient;
      let last = { text: '', step: 0 };
      for await (const s of client.generate('Once upon a time', { maxTokens: 8, temperature: 0 })) last = s;
      return { backend: client.info.backend, weights: client.info.weights, text: last.text, step: last.step };
    });
    expect(r.backend).toBe('cpu');
    expect(r.weights.format).toBe('q8');
    // 8 bits and a scale per 32 weights for the matrices, float32 routers and norms: what the
    // footprint says q8 takes (engine/footprint), about half the F16 file.
    expect(r.weights.bytes).toBe(12108800);
    expect(r.step).toBe(8);
    expect(r.text.length).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  }, TIMEOUT);
});

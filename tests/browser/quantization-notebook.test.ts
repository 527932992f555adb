// The notebook "What quantization does to routing" in the built site, in headless Chromium (CPU
// engine): the page computes its table itself, in the worker, and the numbers are those of
// engine/quant/quant-routing.ts run here in Node on the same model and the same held-out tokens.
// Screenshots at a desktop and a phone viewport (test-results/site/).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { ROOT, SHOTS, buildSite, open, waitForRest } from './site-harness.ts';
import { loadModelDirectory } from '../../engine/node.ts';
import { MixscopeTokenizer } from '../../engine/tokenizer.ts';
import { quantRouting, type QuantRoutingRow } from '../../engine/quant/quant-routing.ts';
import { TINY_DIR } from '../hub/hub-helpers.ts';

// A site build and 24 forwards in Node first: generous on a shared machine.
const TIMEOUT = 600_000;
const N = 128;
const DOMAINS = ['c', 'english', 'german', 'manpages', 'math', 'python'];

describe('notebook "What quantization does to routing" in headless Chromium', () => {
  let server: StaticServer;
  let browser: Browser;
  let expected: QuantRoutingRow[];
  beforeAll(async () => {
    const model = await loadModelDirectory(TINY_DIR);
    const tokenizer = new MixscopeTokenizer(model.tokenizerJson);
    const texts = DOMAINS.map((d) => ({ name: d, ids: tokenizer.encode(readFileSync(path.join(ROOT, 'training/data/heldout', `${d}.txt`), 'utf8')).ids.slice(0, N) }));
    expected = await quantRouting(model.config, model.weights, texts, ['f16', 'q8', 'q4'], { reference: 'f32' });
    server = await serveDirectory(await buildSite());
    browser = await launchChromium({ webgpu: false });
  }, TIMEOUT);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('computes its table in the page: every domain and format, the numbers the library gives', async () => {
    const { page, errors, outside } = await open(browser, server, '#/quantization', { width: 1400, height: 1000, backend: 'auto' });
    await page.waitForSelector('.qr-table[data-ready="true"]', { timeout: TIMEOUT, state: 'attached' });
    await waitForRest(page, TIMEOUT);
    const shown = await page.locator('.qr-table tbody tr').evaluateAll((trs) => trs.map((tr) => ({
      domain: (tr as HTMLElement).dataset.domain!, format: (tr as HTMLElement).dataset.format!,
      cells: [...tr.querySelectorAll('td')].map((td) => td.textContent!.trim()),
      lossChange: Number((tr.querySelectorAll('td')[3] as HTMLElement).dataset.value),
    })));
    expect(shown).toHaveLength(DOMAINS.length * 3);
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    for (const r of expected) {
      const row = shown.find((s) => s.domain === r.text && s.format === r.format)!;
      expect(row, `${r.text} ${r.format}`).toBeDefined();
      expect(Math.abs(row.lossChange - r.lossChange)).toBeLessThan(1e-9);
      expect(row.cells[4]).toBe(pct(r.argmaxAgreement));
      expect(row.cells[5]).toBe(pct(Math.min(...r.layers.map((l) => l!.topkSetUnchanged))));
      expect(row.cells[6]).toBe(pct(Math.min(...r.layers.map((l) => l!.firstUnchanged))));
      // The default model is stored in F16: f16 is the checkpoint itself.
      if (r.format === 'f16') expect(row.cells.slice(3)).toEqual(['+0.0000', '100.0%', '100.0%', '100.0%']);
    }
    expect(await page.locator('.qr-layers tbody tr').count()).toBe(DOMAINS.length * 2);
    expect(errors).toEqual([]);
    expect(outside).toEqual([]);
    await page.locator('.qr-table').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, 'quantization-1400.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('.qr-table').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, 'quantization-390.png') });
    await page.close();
  }, TIMEOUT);
});

// The notebook "How routing is learnt" in the built site, in headless Chromium (CPU engine: the
// page runs no model), at a desktop and a phone viewport. Its numbers are read from the page and
// checked against the routing history's files read here, with the OLMoE definitions written out
// afresh: router saturation (top-k and first choice) per layer and checkpoint against the last
// checkpoint, each domain's expert shares, the held-out losses against the previous model.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, watchErrors } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { ROOT, SUBPATH, buildSite, shot, waitForRest } from './site-harness.ts';

const DIR = path.join(ROOT, 'training/data/routing-history');
const index = JSON.parse(readFileSync(path.join(DIR, 'index.json'), 'utf8')) as {
  domains: string[]; layers: number; k: number; experts: number; tokens_per_domain: number;
  checkpoints: { step: number; file: string; heldout_loss: Record<string, number> }[];
};
const previous = JSON.parse(readFileSync(path.join(DIR, 'previous-model.json'), 'utf8')) as { heldout_loss: Record<string, number> };
const checkpoints = [...index.checkpoints].sort((a, b) => a.step - b.step);
const D = index.domains.length, L = index.layers, T = index.tokens_per_domain, K = index.k, E = index.experts;
const bins = checkpoints.map((c) => new Uint8Array(readFileSync(path.join(DIR, c.file))));
const final = bins[bins.length - 1];
const at = (a: Uint8Array, d: number, l: number, t: number, i: number) => a[((d * L + l) * T + t) * K + i];

/** OLMoE eq. 5, per layer: the mean over tokens of the share of the first k choices also among the final k. */
function saturation(a: Uint8Array, k: number): number[] {
  return Array.from({ length: L }, (_, l) => {
    let sum = 0;
    for (let d = 0; d < D; d++) for (let t = 0; t < T; t++) {
      const mine = new Set(Array.from({ length: k }, (_, i) => at(a, d, l, t, i)));
      for (let i = 0; i < k; i++) if (mine.has(at(final, d, l, t, i))) sum++;
    }
    return sum / (D * T * k);
  });
}

type Data = Record<string, string>;
const datasets = (page: Page, selector: string) => page.locator(selector).evaluateAll((els) => els.map((e) => ({ ...(e as HTMLElement).dataset }) as Data));
const TIMEOUT = 240_000;

async function open(browser: Browser, server: StaticServer, width: number, height: number) {
  const page = await browser.newPage({ viewport: { width, height } });
  page.setDefaultNavigationTimeout(120_000);
  const errors = watchErrors(page);
  const outside: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(server.url)) return route.continue();
    outside.push(url);
    return route.abort();
  });
  await page.goto(`${server.url}${SUBPATH}#/routing-over-training`);
  await page.waitForSelector('.rt-divergence-table tbody tr', { timeout: TIMEOUT, state: 'attached' });
  await waitForRest(page, TIMEOUT);
  return { page, errors, outside };
}

describe('notebook "How routing is learnt" in headless Chromium', () => {
  let server: StaticServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await serveDirectory(await buildSite());
    browser = await launchChromium({ webgpu: false });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows saturation, first-choice agreement, domain shares and losses computed from the routing history', async () => {
    const { page, errors, outside } = await open(browser, server, 1400, 1000);
    try {
      expect(await page.locator('.nb-notebook .nb-error').allTextContents()).toEqual([]);
      const last = checkpoints[checkpoints.length - 1];
      const prose = (await page.locator('.nb-notebook').textContent())!;
      expect(prose).toContain(`"final" means the last of them: step ${last.step.toLocaleString('en')}`);

      // Saturation per layer and checkpoint, top-k and first choice, against the last checkpoint.
      for (const [measure, k] of [['topk', K], ['first', 1]] as const) {
        const rows = await datasets(page, `.rt-saturation-table[data-measure="${measure}"] tbody tr`);
        expect(rows.map((r) => Number(r.layer))).toEqual(Array.from({ length: L }, (_, l) => l));
        const want = bins.map((b) => saturation(b, k));
        for (const r of rows) {
          const l = Number(r.layer), values = r.values.split(',').map(Number);
          expect(values.length).toBe(checkpoints.length);
          values.forEach((v, c) => expect(v, `${measure} layer ${l} step ${checkpoints[c].step}`).toBeCloseTo(want[c][l], 12));
          expect(values[values.length - 1]).toBe(1);
        }
      }
      // The printed table agrees with its data, to a tenth of a percent.
      expect(await page.locator('.rt-saturation-table[data-measure="topk"] tbody tr').first().locator('td').nth(1).textContent())
        .toBe(`${(100 * saturation(bins[0], K)[0]).toFixed(1)}%`);

      // Losses: the previous model's and the final checkpoint's, per domain.
      const losses = await datasets(page, '.rt-loss-table tbody tr');
      expect(losses.map((r) => r.domain)).toEqual(index.domains);
      for (const r of losses) {
        expect(Number(r.previous)).toBe(previous.heldout_loss[r.domain]);
        expect(Number(r.final)).toBe(last.heldout_loss[r.domain]);
      }
      expect(await page.locator('.mx-training-curves .mx-reference').count()).toBe(D);

      // Domain shares at the chosen layer (default 3), top-k: one panel per checkpoint, every
      // domain's shares sum to k and match a count of the file.
      const cells = await datasets(page, '.mx-domain-share-grid rect.mx-share-cell');
      expect(cells.length).toBe(checkpoints.length * D * E);
      const panels = await datasets(page, '.mx-domain-share-grid g.mx-share-panel');
      expect(panels.map((p) => Number(p.step))).toEqual(checkpoints.map((c) => c.step));
      const perPanel = D * E;
      for (let c = 0; c < checkpoints.length; c++) {
        for (let d = 0; d < D; d++) {
          const row = cells.slice(c * perPanel + d * E, c * perPanel + (d + 1) * E).map((x) => Number(x.share));
          expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(K, 12);
          const e0 = Number(cells[c * perPanel + d * E].expert);
          let count = 0;
          for (let t = 0; t < T; t++) for (let i = 0; i < K; i++) if (at(bins[c], d, 3, t, i) === e0) count++;
          expect(row[0]).toBeCloseTo(count / T, 12);
        }
      }
      const divergence = await datasets(page, '.rt-divergence-table tbody tr');
      expect(divergence.length).toBe(checkpoints.length);
      for (const r of divergence) for (const v of r.values.split(',').map(Number)) expect(v).toBeGreaterThanOrEqual(0);

      await shot(page, 'routing-over-training-1400');

      // First choices only: the grid redraws from the same files, each domain's row sums to 1.
      await page.getByLabel('first choice only').check();
      await expect.poll(async () => (await datasets(page, '.mx-domain-share-grid rect.mx-share-cell')).slice(0, E)
        .reduce((s, x) => s + Number(x.share), 0), { timeout: 30_000 }).toBeCloseTo(1, 12);
      expect(errors).toEqual([]);
      expect(outside).toEqual([]);
    } finally {
      await page.close();
    }
  }, 600_000);

  it('fits a phone: every view within a 390 px viewport', async () => {
    const { page, errors } = await open(browser, server, 390, 844);
    try {
      expect(await page.locator('.nb-notebook .nb-error').allTextContents()).toEqual([]);
      const widths = await page.locator('.mx-training-curves svg, .mx-domain-share-grid svg').evaluateAll((els) =>
        els.map((e) => (e as SVGSVGElement).getBoundingClientRect().right));
      expect(widths.length).toBe(5);
      for (const w of widths) expect(w).toBeLessThanOrEqual(390);
      await shot(page, 'routing-over-training-390');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 600_000);
});

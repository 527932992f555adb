// Three curriculum notebooks in the built site, in headless Chromium, on WebGPU (SwiftShader here)
// and with WebGPU disabled (the CPU engine): "What is a Mixture of Experts?" computes Mixtral-8x7B's
// published parameter counts, memory and FLOPs and the loaded model's own; "Why sparse is cheap"
// measures tokens per second on the backend in use and shows the paper's tables; the "Workshop
// guide" plans 180 minutes through notebooks that exist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchChromium } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { GENERATE_TIMEOUT, SUBPATH, buildSite, open, shot, waitForRest, type Backend } from './site-harness.ts';

// Mixtral-8x7B (Jiang et al. 2024, Table 1) counted here by hand, independently of the engine:
// D 4096, L 32, Dh 128, F 14336, H 32, Hkv 8, V 32000, untied embeddings.
const D = 4096, L = 32, F = 14336, V = 32000, H = 32, HKV = 8, DH = 128;
function mixtralCount(E: number, K: number): { total: number; active: number } {
  const shared = 2 * V * D + D + L * (2 * D * H * DH + 2 * D * HKV * DH + E * D + 2 * D);
  return { total: shared + L * E * 3 * D * F, active: shared + L * K * 3 * D * F };
}
const MIXTRAL = mixtralCount(8, 2);
const MIXTRAL_NORMS = L * 2 * D + D;
// Llama 2 70B (Touvron et al. 2023): D 8192, 80 layers, 64 heads, 8 kv heads of 128, F 28672, V 32000.
const LLAMA = 2 * 32000 * 8192 + 8192 + 80 * (2 * 8192 * 64 * 128 + 2 * 8192 * 8 * 128 + 3 * 8192 * 28672 + 2 * 8192);
const LLAMA_FLOPS = 2 * (LLAMA - 32000 * 8192 - (80 * 2 * 8192 + 8192));

/** The curriculum's notebooks in their order, as the workshop guide links them. */
const CURRICULUM = ['tour', 'views-reference', 'what-is-moe', 'router-step-by-step', 'expert-specialisation', 'attention', 'interventions', 'load-balancing', 'why-sparse-is-cheap'];

/** Text as the reader sees it: non-breaking spaces (between a number and its unit) as spaces. */
const text = async (page: Page, selector: string) => ((await page.locator(selector).first().textContent()) ?? '').replace(/\u00a0/g, ' ').trim();
const value = async (page: Page, selector: string) => Number(await page.locator(selector).first().getAttribute('data-value'));
const engineParameters = (page: Page) => page.evaluate(() =>
  (window as unknown as { mixscopeClient: { info: { parameters: { total: number; activePerToken: number } } } }).mixscopeClient.info.parameters);

async function expectNoCellErrors(page: Page, errors: string[], outside: string[]): Promise<void> {
  expect(await page.locator('.nb-notebook .nb-error').allTextContents()).toEqual([]);
  expect(errors).toEqual([]);
  expect(outside).toEqual([]);
}

describe('curriculum notebooks in headless Chromium', () => {
  let server: StaticServer;
  const backends: Record<'webgpu' | 'cpu', Backend> = {} as Record<'webgpu' | 'cpu', Backend>;

  beforeAll(async () => {
    server = await serveDirectory(await buildSite());
    backends.webgpu = { name: 'webgpu', browser: await launchChromium({ webgpu: true }) };
    backends.cpu = { name: 'cpu', browser: await launchChromium({ webgpu: false }) };
  }, 240_000);

  afterAll(async () => {
    await backends.webgpu?.browser.close();
    await backends.cpu?.browser.close();
    await server?.close();
  });

  for (const which of ['webgpu', 'cpu'] as const) {
    it(`what-is-moe on ${which}: Mixtral-8x7B has 46,702,792,704 parameters (46.7 B), 12,879,925,248 per token (12.9 B), and the loaded model's counts are the engine's`, async () => {
      expect(MIXTRAL).toEqual({ total: 46_702_792_704, active: 12_879_925_248 });
      const { page, errors, outside } = await open(backends[which].browser, server, '#/what-is-moe');
      await page.waitForSelector('.moe-figures', { state: 'attached', timeout: GENERATE_TIMEOUT });
      await page.waitForSelector('.moe-diagram .moe-chosen', { state: 'attached', timeout: GENERATE_TIMEOUT });
      await waitForRest(page);
      await expectNoCellErrors(page, errors, outside);

      const prose = (await page.locator('.nb-notebook').innerText()).replace(/\u00a0/g, ' ');
      expect(prose).toContain('46,702,792,704');
      expect(prose).toContain('12,879,925,248');
      const mix = '.moe-figures tr[data-model="mixtral-8x7b"]';
      expect(await value(page, `${mix} td[data-field="total"]`)).toBe(MIXTRAL.total);
      expect(await value(page, `${mix} td[data-field="active"]`)).toBe(MIXTRAL.active);
      expect(await text(page, `${mix} td[data-field="total"]`)).toBe('46.7 B');
      expect(await text(page, `${mix} td[data-field="active"]`)).toBe('12.9 B');
      expect(await value(page, `${mix} td[data-field="flops"]`)).toBe(2 * (MIXTRAL.active - V * D - MIXTRAL_NORMS));
      expect(await text(page, `${mix} td[data-field="flops"]`)).toBe('25.5 GFLOP');
      // The breakdown adds up to the total, and its parts are the ones computed by hand.
      expect(await value(page, '.moe-breakdown[data-model="mixtral-8x7b"] .moe-sum-total')).toBe(MIXTRAL.total);
      expect(await value(page, '.moe-breakdown[data-model="mixtral-8x7b"] .moe-sum-active')).toBe(MIXTRAL.active);
      expect(await value(page, '.moe-breakdown[data-model="mixtral-8x7b"] tr[data-part="Experts"] td[data-value]')).toBe(L * 8 * 3 * D * F);
      expect(await value(page, '.moe-breakdown[data-model="mixtral-8x7b"] tr[data-part="Router"] td[data-value]')).toBe(L * 8 * D);

      // Weights at 16, 8 and 4 bits: 2, 1 and 0.5 bytes per parameter.
      for (const [bits, shown] of [[16, '93.4 GB'], [8, '46.7 GB'], [4, '23.4 GB']] as const) {
        const cell = `.moe-memory tr[data-format="${bits}"] td[data-model="mixtral-8x7b"]`;
        expect(await value(page, cell)).toBe((bits / 8) * MIXTRAL.total);
        expect(await text(page, cell)).toBe(shown);
      }

      // The dense comparison: Llama 2 70B from its published config.
      const llama = '.moe-figures tr[data-model="llama-2-70b"]';
      expect(await value(page, `${llama} td[data-field="total"]`)).toBe(LLAMA);
      expect(await text(page, `${llama} td[data-field="total"]`)).toBe('69.0 B');
      expect(await value(page, `${llama} td[data-field="flops"]`)).toBe(LLAMA_FLOPS);

      // The loaded model: counted from its config in the page, equal to what the engine reports.
      const engine = await engineParameters(page);
      const loaded = page.locator('.moe-loaded');
      expect(Number(await loaded.getAttribute('data-total'))).toBe(engine.total);
      expect(Number(await loaded.getAttribute('data-active'))).toBe(engine.activePerToken);
      expect(await loaded.getAttribute('data-same')).toBe('true');
      expect(await text(page, '.moe-loaded-total')).toBe(engine.total.toLocaleString('en-US'));
      expect(await value(page, '.moe-figures tr[data-model="loaded"] td[data-field="total"]')).toBe(engine.total);
      expect(await value(page, '.moe-breakdown[data-model="loaded"] .moe-sum-total')).toBe(engine.total);
      expect(await value(page, '.moe-memory tr[data-format="16"] td[data-model="loaded"]')).toBe(2 * engine.total);
      expect(await value(page, '.moe-memory tr[data-format="4"] td[data-model="loaded"]')).toBe(0.5 * engine.total);

      // The diagram lights exactly top-k experts.
      const config = await page.evaluate(() => (window as unknown as { mixscopeClient: { info: { config: { num_local_experts: number; num_experts_per_tok: number } } } }).mixscopeClient.info.config);
      expect(await page.locator('.moe-diagram .moe-expert').count()).toBe(config.num_local_experts);
      expect(await page.locator('.moe-diagram .moe-chosen').count()).toBe(config.num_experts_per_tok);

      // The sliders: the trade-off starts at Mixtral's own E = 8, K = 2, and follows a change.
      const trade = page.locator('.moe-trade');
      expect(Number(await trade.getAttribute('data-total'))).toBe(MIXTRAL.total);
      const experts = page.locator('form', { hasText: 'Experts per layer (E)' }).locator('input[type=number]');
      const topk = page.locator('form', { hasText: 'Experts per token (K)' }).locator('input[type=number]');
      await experts.fill('64');
      await topk.fill('1');
      // Both at once: each input re-runs the cell, so the total (E alone) can be new while the
      // active count still waits for K.
      const wanted = mixtralCount(64, 1);
      await expect.poll(async () => [Number(await trade.getAttribute('data-total')), Number(await trade.getAttribute('data-active'))])
        .toEqual([wanted.total, wanted.active]);
      // The address keys are the notebook's own letters (issue 12: one set of keys).
      expect(page.url()).toMatch(/[?&]E=64(&|$)/);
      expect(page.url()).toMatch(/[?&]K=1(&|$)/);
      await waitForRest(page);
      await shot(page, `curriculum-what-is-moe-${which}`);
      await expectNoCellErrors(page, errors, outside);
      await page.close();
    }, GENERATE_TIMEOUT + 120_000);

    it(`why-sparse-is-cheap on ${which}: measures tokens per second above 0 on the backend in use, and shows the paper's tables as printed`, async () => {
      // SwiftShader decodes about a token a second: a short run, asked for through the address.
      const tokens = which === 'webgpu' ? 4 : 12;
      const { page, errors, outside } = await open(backends[which].browser, server, `#/why-sparse-is-cheap?tokens=${tokens}`);
      const bench = page.locator('.sparse-bench[data-done="true"]');
      await page.waitForSelector('.sparse-bench[data-done="true"]', { state: 'attached', timeout: GENERATE_TIMEOUT });
      await waitForRest(page);
      await expectNoCellErrors(page, errors, outside);

      expect(await page.locator('form', { hasText: 'Tokens to generate' }).locator('input[type=number]').inputValue()).toBe(String(tokens));
      const tps = Number(await bench.getAttribute('data-tokens-per-second'));
      const steps = Number(await bench.getAttribute('data-steps'));
      console.log(`why-sparse-is-cheap on ${which}: ${tps.toFixed(2)} tokens/s over ${steps} tokens`);
      expect(tps).toBeGreaterThan(0);
      expect(steps).toBeGreaterThanOrEqual(2);
      expect(steps).toBeLessThanOrEqual(tokens);
      expect(Number(await text(page, '.sparse-tps'))).toBeCloseTo(tps, 0);
      expect(await bench.getAttribute('data-backend')).toBe(which);
      const backendShown = await text(page, '.sparse-backend');
      expect(backendShown).toBe(await text(page, '.site-backend'));
      expect(backendShown).toMatch(which === 'webgpu' ? /^WebGPU \(.+\)$/ : /^CPU \(.+\)$/);

      // Cost per token: the sparse model as loaded is the engine's; the dense one with the same
      // total uses all its parameters; the estimated speeds scale with the bytes read.
      const engine = await engineParameters(page);
      expect(await value(page, 'tr[data-variant="sparse"] td[data-field="total"]')).toBe(engine.total);
      expect(await value(page, 'tr[data-variant="sparse"] td[data-field="active"]')).toBe(engine.activePerToken);
      expect(await value(page, 'tr[data-variant="sparse"] td[data-field="tps"]')).toBeCloseTo(tps, 6);
      const denseTotal = await value(page, 'tr[data-variant="dense-total"] td[data-field="total"]');
      expect(await value(page, 'tr[data-variant="dense-total"] td[data-field="active"]')).toBe(denseTotal);
      const readSparse = await value(page, 'tr[data-variant="sparse"] td[data-field="read"]');
      const readDense = await value(page, 'tr[data-variant="dense-total"] td[data-field="read"]');
      expect(readDense).toBeGreaterThan(readSparse);
      expect(await value(page, 'tr[data-variant="dense-total"] td[data-field="tps"]')).toBeCloseTo(tps * readSparse / readDense, 6);
      expect(await value(page, '.sparse-big tr[data-model="mixtral-8x7b"] td[data-value]')).toBe(MIXTRAL.total);
      expect(await value(page, '.sparse-big tr[data-model="llama-2-70b"] td[data-value]')).toBe(LLAMA);

      // The published tables, as printed in Jiang et al. 2024.
      const row = (table: string, name: string) => page.locator(`.${table} tr[data-row="${name}"] td`).allTextContents();
      expect(await row('sparse-table2', 'Mixtral 8x7B')).toEqual(['Mixtral 8x7B', '13B', '70.6', '84.4', '77.2', '83.6', '83.1', '59.7', '30.6', '71.5', '40.2', '60.7', '28.4', '74.4']);
      expect(await row('sparse-table2', 'LLaMA 2 70B')).toEqual(['LLaMA 2 70B', '70B', '69.9', '85.4', '80.4', '82.6', '79.9', '56.5', '25.4', '73.0', '29.3', '49.8', '13.8', '69.6']);
      expect(await page.locator('.sparse-table2 tbody tr').count()).toBe(6);
      expect(await row('sparse-table3', 'MT Bench (Instruct)')).toEqual(['MT Bench (Instruct)', '6.86', '8.32', '8.30']);
      expect(await page.locator('.sparse-table3 tbody tr').count()).toBe(7);
      expect(await page.locator('.sparse-score-chart .sparse-point').count()).toBe(6);
      await shot(page, `curriculum-why-sparse-is-cheap-${which}`);
      await page.close();
    }, GENERATE_TIMEOUT + 120_000);

    it(`workshop-guide on ${which}: the schedule sums to 180 minutes, follows the start time, and links every curriculum notebook in order`, async () => {
      const { page, errors, outside } = await open(backends[which].browser, server, '#/workshop-guide?start=13:30');
      await page.waitForSelector('.ws-total', { state: 'attached', timeout: GENERATE_TIMEOUT });
      await waitForRest(page);
      await expectNoCellErrors(page, errors, outside);

      const minutes = (await page.locator('.ws-schedule tbody tr').evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.minutes))));
      expect(minutes.reduce((a, b) => a + b, 0)).toBe(180);
      expect(Number(await page.locator('.ws-total').getAttribute('data-total-minutes'))).toBe(180);
      expect(await text(page, '.ws-total-minutes')).toBe('180 minutes');
      expect(await text(page, '.ws-sum')).toBe('180');
      expect(await text(page, '.ws-schedule tbody tr:first-child td:first-child')).toBe('13:30');
      expect(await text(page, '.ws-schedule tfoot td:first-child')).toBe('16:30');

      const linked = await page.locator('.ws-schedule a.ws-link').evaluateAll((as) => as.map((a) => a.getAttribute('href')!));
      expect(linked).toEqual(CURRICULUM.map((slug) => `#/${slug}`));
      await shot(page, `curriculum-workshop-guide-${which}`);

      // Every notebook the guide links is in the site's list of notebooks.
      await page.goto(`${server.url}${SUBPATH}#/`);
      await page.waitForSelector('.site-notebooks a');
      const listed = await page.locator('.site-notebooks a').evaluateAll((as) => as.map((a) => a.getAttribute('href')!));
      expect(linked.filter((href) => !listed.includes(href))).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    }, GENERATE_TIMEOUT);
  }
});

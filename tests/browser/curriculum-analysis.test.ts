// Two notebooks of the curriculum in the built site, in headless Chromium on WebGPU (SwiftShader,
// with small samples from the address) and with WebGPU disabled (the CPU engine, at the
// notebooks' defaults): "Do experts specialise?" and "Load balancing". Their numbers are read from
// the page and checked against the same statistics computed here, independently, from the CPU
// engine in Node on the model files the page loaded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy } from '../../site/api/run-trace.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, watchErrors, WEBGPU_BROWSERS } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { GENERATE_TIMEOUT, ROOT, SUBPATH, buildSite, shot, waitForRest, type Backend } from './site-harness.ts';
import { loadModelDirectory } from '../../engine/node.ts';
import { layerRouting, routingHooks } from '../../engine/routing/routing.ts';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { MixscopeTokenizer } from '../../engine/tokenizer.ts';
import type { Intervention } from '../../engine/hooks/interventions.ts';

const DOMAINS = ['c', 'english', 'german', 'manpages', 'math', 'python'];
/**
 * The analysis of six domains, or the bias sweep. On SwiftShader the WebGPU run takes one to three
 * minutes on an idle machine, but over ten when the two cores are shared with training and other
 * browser tests.
 */
const ANALYSIS_TIMEOUT = 15 * 60_000;
const TEST_TIMEOUT = 20 * 60_000;
const heldout = (domain: string) => readFileSync(path.join(ROOT, 'training/data/heldout', `${domain}.txt`), 'utf8');

type Data = Record<string, string>;
/** The dataset of every element matching `selector`. */
const datasets = (page: Page, selector: string) => page.locator(selector).evaluateAll((els) => els.map((e) => ({ ...(e as HTMLElement).dataset }) as Data));
const num = (d: Data, key: string) => Number(d[key]);

/**
 * As the harness's open(): offline (only the static host answers), console errors collected; with
 * room for a machine shared with training and other browser tests, where loading the page and the
 * model can take longer than Playwright's default 30 s.
 */
async function open(browser: Browser, server: StaticServer, hash: string): Promise<{ page: Page; errors: string[]; outside: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.setDefaultNavigationTimeout(120_000);
  const errors = watchErrors(page);
  const outside: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(server.url)) return route.continue();
    outside.push(url);
    return route.abort();
  });
  // The WebGPU browser asks for the WebGPU engine: the site would not choose it on SwiftShader, a software fallback adapter.
  await page.goto(`${server.url}${SUBPATH}${WEBGPU_BROWSERS.has(browser) ? '?backend=webgpu' : ''}${hash}`);
  return { page, errors, outside };
}

async function expectBackend(page: Page, which: 'webgpu' | 'cpu'): Promise<void> {
  await expect.poll(() => page.locator('.site-backend').getAttribute('data-backend'), { timeout: GENERATE_TIMEOUT }).toBe(which);
}

async function expectNoCellErrors(page: Page): Promise<void> {
  expect(await page.locator('.nb-notebook .nb-error').allTextContents()).toEqual([]);
}

/** Consecutive-pair statistics of one layer's (T, K) choices, written out afresh for the test. */
function repetition(indices: Int32Array, K: number): { first: number; topk: number } {
  const T = indices.length / K;
  let first = 0, topk = 0;
  for (let t = 1; t < T; t++) {
    const prev = new Set(indices.subarray((t - 1) * K, t * K));
    if (indices[(t - 1) * K] === indices[t * K]) first++;
    if ([...indices.subarray(t * K, (t + 1) * K)].some((e) => prev.has(e))) topk++;
  }
  return { first: first / (T - 1), topk: topk / (T - 1) };
}

/** The Switch/HF balancing loss of one layer, from counts: E * sum_e (count_e / (T K)) * K * meanP_e. */
function balance(indices: Int32Array, probs: Float32Array, E: number, K: number): number {
  const T = indices.length / K;
  const count = new Array<number>(E).fill(0);
  for (const e of indices) count[e]++;
  let loss = 0;
  for (let e = 0; e < E; e++) {
    let p = 0;
    for (let t = 0; t < T; t++) p += probs[t * E + e];
    loss += (count[e] / T) * (p / T);
  }
  return E * loss;
}

/** Mean next-token cross-entropy over a text, with the site's own per-token loss. */
function meanCrossEntropy(logits: Float32Array, ids: number[], V: number): number {
  let sum = 0;
  for (let t = 0; t + 1 < ids.length; t++) sum += crossEntropy(logits, t * V, V, ids[t + 1]!);
  return sum / (ids.length - 1);
}

describe('curriculum notebooks in headless Chromium: expert specialisation and load balancing', () => {
  let server: StaticServer;
  let gpu: Backend;
  let cpu: Backend;
  let engine: CpuEngine;
  let tokenizer: MixscopeTokenizer;

  beforeAll(async () => {
    const www = await buildSite();
    server = await serveDirectory(www);
    // The model files the page loads, so a model retrained meanwhile cannot make the two disagree.
    const ckpt = await loadModelDirectory(path.join(www, SUBPATH, 'mixscope-tiny'));
    engine = new CpuEngine(ckpt.config, ckpt.weights);
    tokenizer = new MixscopeTokenizer(ckpt.tokenizerJson);
    gpu = { name: 'webgpu', browser: await launchChromium({ webgpu: true }) };
    cpu = { name: 'cpu', browser: await launchChromium({ webgpu: false }) };
  }, 180_000);

  afterAll(async () => {
    await gpu?.browser.close();
    await cpu?.browser.close();
    await server?.close();
  });

  const E = 8, K = 2, L = 6;

  for (const which of ['webgpu', 'cpu'] as const) {
    // WebGPU on SwiftShader prefills about two tokens a second: small samples from the address.
    const sample = which === 'webgpu' ? 16 : 512;
    const excerpt = which === 'webgpu' ? 16 : 200;
    const hash = which === 'webgpu' ? `#/expert-specialisation?sample=${sample}&excerpt=${excerpt}` : '#/expert-specialisation';

    it(`expert specialisation on ${which}: random baselines, shares, strips and a repetition row per domain and layer that match the engine`, async () => {
      const { page, errors, outside } = await open(which === 'webgpu' ? gpu.browser : cpu.browser, server, hash);
      try {
        await expectBackend(page, which);
        await page.waitForSelector('.xs-progress[data-done="true"]', { timeout: ANALYSIS_TIMEOUT, state: 'attached' });
        await waitForRest(page);
        await expectNoCellErrors(page);

        // Random routing, from the model's E and K.
        const random = (await datasets(page, '.xs-random-rates'))[0]!;
        expect(num(random, 'first')).toBeCloseTo(0.125, 12);
        expect(num(random, 'topk')).toBeCloseTo(1 - 15 / 28, 12);
        const randomText = await page.locator('.xs-random-rates').textContent();
        expect(randomText).toContain('12.5%');
        expect(randomText).toContain('46.4%');

        // Text coloured by expert: three excerpts of the asked length.
        const strips = await page.locator('.xs-strips .mx-token-strip').evaluateAll((els) =>
          els.map((e) => ({ domain: (e as HTMLElement).dataset.domain, rows: (e as unknown as { rows(): Data[] }).rows().length })));
        expect(strips).toEqual(['python', 'math', 'english'].map((domain) => ({ domain, rows: excerpt })));

        // Shares per domain at the first, middle and last layer: each domain's bars sum to 1.
        const bars = await datasets(page, '.xs-share-chart rect.xs-bar');
        expect(bars.length).toBe(3 * DOMAINS.length * E);
        expect([...new Set(bars.map((b) => b.layer))]).toEqual(['0', '2', '5']);
        for (const d of DOMAINS) for (const l of ['0', '2', '5']) {
          const sum = bars.filter((b) => b.domain === d && b.layer === l).reduce((s, b) => s + num(b, 'share'), 0);
          expect(sum).toBeCloseTo(1, 9);
        }

        // The repetition table: one row per domain and layer, rates in [0, 1].
        const rows = await datasets(page, '.xs-repetition-table tbody tr');
        expect(rows.length).toBe(DOMAINS.length * L);
        expect(new Set(rows.map((r) => `${r.domain}:${r.layer}`)).size).toBe(DOMAINS.length * L);
        for (const r of rows) for (const key of ['repeatFirst', 'repeatTopk']) {
          expect(num(r, key)).toBeGreaterThanOrEqual(0);
          expect(num(r, key)).toBeLessThanOrEqual(1);
        }
        expect(await page.locator('.xs-repetition-table tbody tr td:nth-child(3)').first().textContent()).toBe(String(sample - 1));

        // The same statistic from the CPU engine in Node on the first `sample` tokens of arithmetic.
        const ids = tokenizer.encode(heldout('math')).ids.slice(0, sample);
        const routed = layerRouting(engine.config, (await engine.forward(ids, { hooks: routingHooks() })).hooks);
        // The CPU page runs this very engine; WebGPU may flip a near-tie: allow one pair of difference.
        const tol = which === 'cpu' ? 1e-9 : 1 / (sample - 1) + 1e-9;
        for (let l = 0; l < L; l++) {
          const mine = repetition(routed[l].indices, K);
          const shown = rows.find((row) => row.domain === 'math' && row.layer === String(l))!;
          expect(Math.abs(num(shown, 'repeatFirst') - mine.first), `layer ${l} first`).toBeLessThanOrEqual(tol);
          expect(Math.abs(num(shown, 'repeatTopk') - mine.topk), `layer ${l} topk`).toBeLessThanOrEqual(tol);
        }

        // Ours beside the paper's Table 5: six domains and eight Pile subsets, each with a random row.
        expect(await page.locator('.xs-table5-ours tbody tr[data-domain]').count()).toBe(DOMAINS.length);
        expect(await page.locator('.xs-table5-paper tbody tr').count()).toBe(8 + 1);
        expect(await page.locator('.xs-table5-paper').textContent()).toContain('67.0%');
        expect(await page.locator('.xs-divergence tbody tr').count()).toBe(DOMAINS.length);

        await shot(page, `expert-specialisation-${which}`);

        if (which === 'cpu') {
          // First choices only: the chart redraws from the same analysis, shares still sum to 1.
          await page.getByLabel('first choice only').check();
          await page.waitForSelector('.xs-share-chart[data-count="first"]', { state: 'attached' });
          const first = await datasets(page, '.xs-share-chart rect.xs-bar');
          const sum = first.filter((b) => b.domain === 'python' && b.layer === '5').reduce((s, b) => s + num(b, 'share'), 0);
          expect(sum).toBeCloseTo(1, 9);
        }
        expect(errors).toEqual([]);
        expect(outside).toEqual([]);
      } finally {
        await page.close();
      }
    }, TEST_TIMEOUT);

    // The CPU run sweeps the bias over eleven traces of the text: half the default length keeps
    // that reasonable on a machine shared with training.
    const tokens = which === 'webgpu' ? 24 : 192;
    const lbHash = which === 'webgpu' ? `#/load-balancing?length=${tokens}&bias=4` : `#/load-balancing?length=${tokens}`;

    it(`load balancing on ${which}: the balanced reference is K, the live loss matches the engine, and a bias raises its expert's load`, async () => {
      const { page, errors, outside } = await open(which === 'webgpu' ? gpu.browser : cpu.browser, server, lbHash);
      try {
        await expectBackend(page, which);
        await page.waitForSelector('.lb-heldout', { timeout: GENERATE_TIMEOUT, state: 'attached' });
        await waitForRest(page);
        await expectNoCellErrors(page);

        const balanced = (await datasets(page, '.lb-balanced'))[0]!;
        expect(num(balanced, 'value')).toBeCloseTo(K, 12);
        expect(await page.locator('.lb-balanced').textContent()).toContain('2.000');

        // The same text as the page's "mixed": one <s>, then an equal slice of every domain (the
        // first domains one token more when the count does not divide), `tokens` in all.
        const per = Math.floor((tokens - 1) / DOMAINS.length), extra = (tokens - 1) % DOMAINS.length;
        const ids: number[] = [];
        for (const [i, d] of DOMAINS.entries()) {
          const all = tokenizer.encode(heldout(d)).ids;
          if (!ids.length) ids.push(all[0]!);
          ids.push(...all.slice(1, 1 + per + (i < extra ? 1 : 0)));
        }
        expect(ids.length).toBe(tokens);
        const aux = (await datasets(page, '.lb-aux-table'))[0]!;
        expect(num(aux, 'tokens')).toBe(ids.length);
        const layers = await datasets(page, '.lb-aux-table tbody tr');
        expect(layers.length).toBe(L);

        const held = (await datasets(page, '.lb-heldout'))[0]!;
        const strength = num(held, 'strength'), expert = num(held, 'expert');
        expect(strength).toBe(which === 'webgpu' ? 4 : 3);
        const bias: Intervention[] = Array.from({ length: L }, (_, layer) => ({ kind: 'router_bias', layer, bias: Array.from({ length: E }, (_, e) => (e === expert ? strength : 0)) }));
        const hooks = routingHooks();
        const base = await engine.forward(ids, { hooks, output: 'all' });
        const pushed = await engine.forward(ids, { hooks, output: 'all', interventions: bias });
        const lossesOf = (res: typeof base) => layerRouting(engine.config, res.hooks).map((r) => balance(r.indices, r.probs, E, K));
        const baseLosses = lossesOf(base), pushedLosses = lossesOf(pushed);
        const tol = which === 'cpu' ? 1e-4 : 2e-3;
        for (let l = 0; l < L; l++) {
          expect(Math.abs(num(layers[l]!, 'loss') - baseLosses[l]!), `layer ${l}`).toBeLessThanOrEqual(tol);
          expect(num(layers[l]!, 'loss')).toBeGreaterThanOrEqual(1);
        }
        const V = engine.config.vocab_size;
        expect(Math.abs(num(held, 'before') - meanCrossEntropy(base.logits, ids, V))).toBeLessThanOrEqual(which === 'cpu' ? 1e-4 : 2e-3);
        expect(Math.abs(num(held, 'after') - meanCrossEntropy(pushed.logits, ids, V))).toBeLessThanOrEqual(which === 'cpu' ? 1e-4 : 2e-3);
        expect(num(held, 'after')).not.toBe(num(held, 'before'));
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        expect(num(held, 'auxAfter')).toBeCloseTo(mean(pushedLosses), which === 'cpu' ? 4 : 2);
        expect(num(held, 'auxAfter')).toBeGreaterThan(num(held, 'auxBefore'));

        // The biased expert's load, read from the views: higher in every layer, never lower.
        const loadOf = (cls: string) => page.evaluate((c) => (document.querySelector(`.${c} .mx-expert-load`) as unknown as { rows(): Data[] }).rows(), cls);
        const before = (await loadOf('lb-load-baseline')).filter((r) => Number(r.expert) === expert);
        const after = (await loadOf('lb-load-biased')).filter((r) => Number(r.expert) === expert);
        expect(after.length).toBe(L);
        for (let l = 0; l < L; l++) expect(Number(after[l]!.first)).toBeGreaterThanOrEqual(Number(before[l]!.first));
        expect(mean(after.map((r) => Number(r.firstShare)))).toBeGreaterThan(mean(before.map((r) => Number(r.firstShare))) + 0.1);
        // Layer 0's router sees no biased layer before it, so its share cannot fall.
        const collapse = await datasets(page, '.lb-collapse-table tbody tr');
        expect(num(collapse[0]!, 'shareAfter')).toBeGreaterThan(num(collapse[0]!, 'shareBefore'));

        // Speed: max / mean load is between 1 and E/K, and no better once one expert is pushed.
        const speed = await datasets(page, '.lb-speed-table tbody tr');
        expect(speed.length).toBe(L);
        for (const s of speed) for (const key of ['ratioBefore', 'ratioAfter']) {
          expect(num(s, key)).toBeGreaterThanOrEqual(1);
          expect(num(s, key)).toBeLessThanOrEqual(E / K + 1e-9);
        }
        const total = (await datasets(page, '.lb-speed-table'))[0]!;
        expect(num(total, 'totalAfter')).toBeGreaterThanOrEqual(num(total, 'totalBefore'));

        await shot(page, `load-balancing-${which}`);

        if (which === 'cpu') {
          // The sweep: strength 0 reproduces the unbiased trace, and the strongest push beats it.
          await page.getByRole('button', { name: 'Sweep the bias strength' }).click();
          await page.waitForSelector('.lb-sweep-chart', { timeout: ANALYSIS_TIMEOUT, state: 'attached' });
          const points = await datasets(page, '.lb-sweep-point');
          const at = (key: string, s: number) => num(points.find((p) => p.key === key && num(p, 'strength') === s)!, 'value');
          expect(at('aux', 0)).toBeCloseTo(num(held, 'auxBefore'), 9);
          expect(at('heldout', 0)).toBeCloseTo(num(held, 'before'), 9);
          expect(at('share', 8)).toBeGreaterThan(at('share', 0));
          expect(at('aux', 8)).toBeGreaterThan(at('aux', 0));
          await shot(page, 'load-balancing-cpu-sweep');

          // Push another expert: the collapse table follows after the slider's pause.
          await page.getByLabel('Expert to push').selectOption({ label: 'E5' });
          await page.waitForSelector('.lb-heldout[data-expert="5"]', { timeout: GENERATE_TIMEOUT, state: 'attached' });
          await waitForRest(page);
          const after5 = (await loadOf('lb-load-biased')).filter((r) => Number(r.expert) === 5);
          const before5 = (await loadOf('lb-load-baseline')).filter((r) => Number(r.expert) === 5);
          expect(mean(after5.map((r) => Number(r.firstShare)))).toBeGreaterThan(mean(before5.map((r) => Number(r.firstShare))));
          await expectNoCellErrors(page);
          await shot(page, 'load-balancing-cpu-expert5');
        }
        expect(errors).toEqual([]);
        expect(outside).toEqual([]);
      } finally {
        await page.close();
      }
    }, TEST_TIMEOUT);
  }
});

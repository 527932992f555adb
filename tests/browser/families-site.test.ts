// The site on the families beside Mixtral, in headless Chromium with the CPU engine: the "What is
// a Mixture of Experts?" calculator shows the shipped configs side by side with the engine's
// counts, and a random checkpoint of each family (Hub names, published config fields, E and K as
// published) opens through "Open your own model" and runs every notebook of the site's index on
// it: no cell error, no console error, every view drawn (or saying why a dense layer has nothing
// to draw), no "NaN" or "undefined" in what the notebook shows.
//
// The checkpoints cover the shapes the views and analyses must survive: OLMoE's 64 experts top-8,
// Qwen2-MoE's shared expert with a dense layer among sparse ones (mlp_only_layers: layer 2, the
// layer most notebooks open on), Qwen3-MoE's 128 experts top-8 with a dense first layer, and
// Granite-MoE's 32 experts top-8. Each model loads once; the notebooks are reached by their
// address, as a reader following links does, with small samples from the address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { GENERATE_TIMEOUT, ROOT, buildSite, open, shot, waitForRest } from './site-harness.ts';
import { parseConfig } from '../../engine/config.ts';
import { countParameters } from '../../engine/params.ts';
import { moeLayerIndices } from '../../engine/family.ts';
import { PUBLISHED_CONFIGS, publishedConfig, tinyFamilyConfig, writeFamilyCheckpoint, type FamilyName } from '../helpers/family-checkpoint.ts';

/** Smaller samples than the notebooks' defaults, from the address: the checks are the same. */
const ADDRESS: Record<string, string> = {
  'tour': 'tokens=6',
  'attention': 'length=48',
  'expert-specialisation': 'length=64&excerpt=64',
  'interventions': 'length=16&tokens=6',
  'load-balancing': 'length=96',
  'why-sparse-is-cheap': 'tokens=4',
  'what-does-each-expert-do': 'sample=64&structure=64&tokens=4',
  'compare-and-patch': 'sample=64',
};

/** Per family: the published config at toy size, with the layer structure each case needs. */
const CHECKPOINTS: { family: FamilyName; over: Record<string, unknown>; what: string }[] = [
  { family: 'olmoe', over: {}, what: '64 experts, top-8' },
  { family: 'qwen2_moe', over: { mlp_only_layers: [2] }, what: '60 experts, top-4, a shared expert, layer 2 dense' },
  { family: 'qwen3_moe', over: { mlp_only_layers: [0] }, what: '128 experts, top-8, layer 0 dense' },
  { family: 'granitemoe', over: {}, what: '32 experts, top-8' },
];

async function openOwnModel(page: Page, dir: string): Promise<void> {
  await page.locator('.site-open').click();
  const dialog = page.locator('dialog.open-model');
  await dialog.locator('input[type=file]:not([webkitdirectory])').setInputFiles(['config.json', 'tokenizer.json', 'model.safetensors'].map((name) => ({
    name, mimeType: name.endsWith('.json') ? 'application/json' : 'application/octet-stream', buffer: readFileSync(path.join(dir, name)),
  })));
}

const clientConfig = (page: Page) => page.evaluate(() =>
  (window as unknown as { mixscopeClient: { info: { config: { model_type: string } } | null } }).mixscopeClient.info?.config.model_type ?? null);

/**
 * What is wrong with the notebook on the page: views with nothing drawn (an empty view must say
 * why a dense layer has nothing: its hint names it), and outputs showing NaN or undefined.
 */
const problems = (page: Page) => page.evaluate(() => {
  const out: string[] = [];
  document.querySelectorAll<HTMLElement>('.nb-notebook .mx-view').forEach((v) => {
    const name = [...v.classList].find((c) => c.startsWith('mx-') && c !== 'mx-view') ?? 'view';
    const title = v.querySelector('.mx-title')?.textContent ?? '';
    const body = v.querySelector<HTMLElement>('.mx-body');
    const hint = v.querySelector<HTMLElement>('.mx-hint');
    if (body && !body.classList.contains('mx-hidden')) {
      if (body.querySelectorAll('rect, path, circle, span, td, canvas, img').length === 0) out.push(`${name} "${title}": drawn empty`);
    } else if (!/dense/.test(hint?.textContent ?? '')) {
      out.push(`${name} "${title}": ${hint?.textContent ?? 'no body'}`);
    }
  });
  document.querySelectorAll<HTMLElement>('.nb-notebook .nb-output, .nb-notebook .nb-prose').forEach((o) => {
    const text = o.textContent ?? '';
    const m = /.{0,40}\b(NaN|undefined)\b.{0,40}/.exec(text);
    if (m) out.push(`shows "${m[0]}"`);
  });
  return out;
});

/**
 * What a notebook shows that must hold on every family: the router, step by step, rebuilds each
 * MoE block from its experts (with the shared expert and Granite's residual_multiplier) and agrees
 * with the engine's choices and weights; the tour's expert load and routing paths have a panel and
 * a column for each layer that routes (`sparse`), none for a dense one.
 */
const CHECKS: Record<string, (page: Page, sparse: number[]) => Promise<string[]>> = {
  'tour': async (page, sparse) => {
    const out: string[] = [];
    const panels = await page.locator('.mx-expert-load g.mx-panel text.mx-panel-title').allTextContents();
    if (panels.join() !== sparse.map((l) => `layer ${l}`).join()) out.push(`expert load panels ${panels.join(', ')}`);
    const columns = await page.locator('.mx-routing-paths text.mx-layer-label').allTextContents();
    if (columns.join() !== sparse.map((l) => `L${l}`).join()) out.push(`routing path columns ${columns.join(', ')}`);
    return out;
  },
  'router-step-by-step': async (page) => {
    const value = async (sel: string) => Number(await page.locator(sel).first().getAttribute('data-value'));
    const out: string[] = [];
    const sum = await value('.router-sum-check-all'), diff = await value('.router-engine-diff');
    if (!(sum < 1e-4)) out.push(`block rebuilt from its experts differs by ${sum}`);
    if (!(diff < 1e-5)) out.push(`weights differ from the engine's by ${diff}`);
    const same = (await page.locator('.router-same-experts').textContent()) ?? '';
    const [a, b] = same.split(' of ');
    if (a !== b) out.push(`same experts for ${same} pairs`);
    return out;
  },
};

describe('the site on every MoE family (CPU engine)', () => {
  let server: StaticServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await serveDirectory(await buildSite());
    browser = await launchChromium({ webgpu: false });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('what-is-moe shows the shipped configs side by side, counted as the engine counts them', async () => {
    const { page, errors, outside } = await open(browser, server, '#/what-is-moe');
    await page.waitForSelector('.moe-families', { state: 'attached', timeout: GENERATE_TIMEOUT });
    await waitForRest(page);
    expect(await page.locator('.nb-notebook .nb-error').allTextContents()).toEqual([]);
    const keys: Record<FamilyName | 'mixtral22', string> = { mixtral: 'mixtral-8x7b', mixtral22: 'mixtral-8x22b', olmoe: 'olmoe-1b-7b', qwen2_moe: 'qwen1.5-moe-a2.7b', qwen3_moe: 'qwen3-30b-a3b', granitemoe: 'granite-3.1-1b-a400m' };
    for (const family of Object.keys(PUBLISHED_CONFIGS) as FamilyName[]) {
      const p = countParameters(parseConfig(publishedConfig(family)));
      const row = `.moe-families tr[data-model="${keys[family]}"]`;
      expect(await page.locator(`${row} td[data-field="total"]`).getAttribute('data-value'), family).toBe(String(p.total));
      expect(await page.locator(`${row} td[data-field="active"]`).getAttribute('data-value'), family).toBe(String(p.activePerToken));
    }
    expect(await page.locator('.moe-families tr[data-model="qwen1.5-moe-a2.7b"] td[data-field="shared"]').textContent()).toContain('5,632');
    expect(await page.locator('.moe-families-chart rect').count()).toBe(2 * 6);
    await shot(page, 'families-what-is-moe');
    expect(errors).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  }, GENERATE_TIMEOUT);

  for (const { family, over, what } of CHECKPOINTS) {
    it(`opens a random ${family} checkpoint (${what}) through "Open your own model" and runs every notebook of the index on it`, async () => {
      const config = tinyFamilyConfig(family, { num_hidden_layers: 4, max_position_embeddings: 256, ...over });
      const dir = writeFamilyCheckpoint(mkdtempSync(path.join(tmpdir(), `mixscope-site-${family}-`)), config, 'BF16');
      const { page, errors, outside, dialogs } = await open(browser, server, '#/');
      // Every notebook the index lists, and the index lists every notebook file.
      await page.waitForSelector('.site-notebooks a', { timeout: 60_000 });
      const slugs = await page.locator('.site-notebooks a').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).getAttribute('href')!.replace(/^#\//, '')));
      const files = readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.endsWith('.md') && f !== 'README.md').map((f) => f.replace(/\.md$/, ''));
      expect([...slugs].sort()).toEqual(files.sort());

      await openOwnModel(page, dir);
      await expect.poll(() => clientConfig(page), { timeout: 60_000 }).toBe(family);
      await page.locator('dialog.open-model').getByRole('button', { name: 'Close' }).click().catch(() => {});
      const failures: string[] = [];
      for (const slug of slugs) {
        const seen = errors.length;
        await page.evaluate((h) => { location.hash = h; }, `#/${slug}${ADDRESS[slug] ? `?${ADDRESS[slug]}` : ''}`);
        await page.waitForFunction((s) => document.querySelector(`article.site-notebook[data-slug="${s}"] .nb-notebook`), slug, { timeout: 60_000 });
        await waitForRest(page, GENERATE_TIMEOUT, { untilDone: true });
        const cellErrors = await page.locator('.nb-notebook .nb-error').allTextContents();
        if (cellErrors.length) failures.push(`${slug}: ${cellErrors.map((e) => e.slice(0, 200)).join(' | ')}`);
        // Views out of sight draw when the page is idle: a few seconds at most.
        let left: string[] = [];
        const until = Date.now() + 10_000;
        do { left = await problems(page); if (left.length) await page.waitForTimeout(500); } while (left.length && Date.now() < until);
        failures.push(...left.map((p) => `${slug}: ${p}`));
        if (!cellErrors.length && CHECKS[slug]) failures.push(...(await CHECKS[slug](page, moeLayerIndices(parseConfig(config)))).map((p) => `${slug}: ${p}`));
        failures.push(...errors.slice(seen).map((e) => `${slug}: ${e.slice(0, 200)}`));
        if (slug === 'tour') await shot(page, `families-tour-${family}`);
      }
      expect(failures).toEqual([]);
      expect(await clientConfig(page)).toBe(family);
      expect(errors).toEqual([]);
      expect(outside).toEqual([]);
      expect(dialogs).toEqual([]);
      await page.close();
    }, 20 * 60_000);
  }
});

// The site on the families beside Mixtral, in headless Chromium with the CPU engine: the "What is
// a Mixture of Experts?" calculator shows the shipped configs side by side with the engine's
// counts, and a random checkpoint of each family (Hub names, published config fields, E and K as
// published) opens through "Open your own model" and runs every notebook without a cell error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { GENERATE_TIMEOUT, buildSite, open, shot, waitForDone, waitForRest } from './site-harness.ts';
import { parseConfig } from '../../engine/config.ts';
import { countParameters } from '../../engine/params.ts';
import { PUBLISHED_CONFIGS, publishedConfig, tinyFamilyConfig, writeFamilyCheckpoint, type FamilyName } from '../helpers/family-checkpoint.ts';

const NOTEBOOKS = ['tour', 'views-reference', 'what-is-moe', 'router-step-by-step', 'expert-specialisation', 'attention', 'interventions', 'load-balancing', 'why-sparse-is-cheap'];
const FAMILIES: FamilyName[] = ['olmoe', 'qwen2_moe', 'qwen3_moe', 'granitemoe'];

async function openOwnModel(page: Page, dir: string): Promise<void> {
  await page.locator('.site-open').click();
  const dialog = page.locator('dialog.open-model');
  await dialog.locator('input[type=file]:not([webkitdirectory])').setInputFiles(['config.json', 'tokenizer.json', 'model.safetensors'].map((name) => ({
    name, mimeType: name.endsWith('.json') ? 'application/json' : 'application/octet-stream', buffer: readFileSync(path.join(dir, name)),
  })));
}

const clientConfig = (page: Page) => page.evaluate(() =>
  (window as unknown as { mixscopeClient: { info: { config: { model_type: string } } | null } }).mixscopeClient.info?.config.model_type ?? null);

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

  for (const family of FAMILIES) {
    it(`opens a random ${family} checkpoint through "Open your own model" and runs every notebook on it`, async () => {
      const dir = writeFamilyCheckpoint(mkdtempSync(path.join(tmpdir(), `mixscope-site-${family}-`)), tinyFamilyConfig(family, { num_hidden_layers: 4, max_position_embeddings: 256 }), 'BF16');
      const { page, errors, outside, dialogs } = await open(browser, server, '#/tour?tokens=2');
      await waitForDone(page);
      await openOwnModel(page, dir);
      await expect.poll(() => clientConfig(page), { timeout: 60_000 }).toBe(family);
      await page.locator('dialog.open-model').getByRole('button', { name: 'Close' }).click().catch(() => {});
      const failures: string[] = [];
      for (const nb of NOTEBOOKS) {
        await page.evaluate((h) => { location.hash = h; }, `#/${nb}`);
        await page.waitForSelector('.nb-notebook', { state: 'attached', timeout: 60_000 });
        await waitForRest(page, GENERATE_TIMEOUT, { untilDone: true });
        const cellErrors = await page.locator('.nb-notebook .nb-error').allTextContents();
        if (cellErrors.length) failures.push(`${nb}: ${cellErrors.map((e) => e.slice(0, 200)).join(' | ')}`);
        if (nb === 'tour') await shot(page, `families-tour-${family}`);
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

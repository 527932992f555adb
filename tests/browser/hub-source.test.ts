// The browser-safe Hub source (engine/hub/source.ts) in headless Chromium against the fake Hub on
// other origins: CORS (a preflight for the token), the LFS redirect to the CDN followed by fetch,
// the token dropped on that cross-origin redirect, a gated model's typed error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, watchErrors } from './chromium.ts';
import { bundleForBrowser } from './bundle.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { startFakeHub, type FakeHub } from '../hub/fake-hub.ts';
import { GATED_TOKEN, projectRepos, ROOT } from '../hub/hub-helpers.ts';
import { loadModelDirectory } from '../../engine/node.ts';

interface Opened { ok: boolean; code?: string; message?: string; files?: string[]; experts?: number; normSum?: number; commit?: string }

describe('hubSource in Chromium', () => {
  let browser: Browser;
  let server: StaticServer;
  let hub: FakeHub;
  let page: Page;
  let errors: string[];
  beforeAll(async () => {
    hub = await startFakeHub({ repos: projectRepos() });
    const dir = await bundleForBrowser(path.join(ROOT, 'tests/browser/hub-entry.ts'), 'hub');
    server = await serveDirectory(dir, { '/': '<!doctype html><title>hub</title><script type="module">import * as m from "./hub.js"; window.mixscopeHub = m;</script>' });
    browser = await launchChromium({ webgpu: false });
    page = await browser.newPage();
    errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => (window as unknown as { mixscopeHub?: unknown }).mixscopeHub !== undefined);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await hub?.close();
  });

  const open = (model: string, token?: string): Promise<Opened> => page.evaluate(async ({ model, endpoint, token }) => {
    const m = (window as unknown as { mixscopeHub: typeof import('./hub-entry.ts') }).mixscopeHub;
    const source = m.hubSource(model, { endpoint, token });
    try {
      const ck = await m.loadCheckpoint(source);
      return { ok: true, files: ck.files, experts: ck.config.num_local_experts, normSum: ck.weights.norm.reduce((a, b) => a + b, 0), commit: source.commit() };
    } catch (e) {
      return { ok: false, code: (e as { code?: string }).code, message: (e as Error).message };
    }
  }, { model, endpoint: hub.url, token });

  it('loads a sharded model across origins: the same weights as Node reads from the folder', async () => {
    const mark = hub.requests.length;
    const r = await open('golden/f32-sharded');
    expect(r.ok, r.message).toBe(true);
    const disk = await loadModelDirectory(path.join(ROOT, 'tests/fixtures/golden/f32-sharded'));
    expect(r.files).toEqual(disk.files);
    expect(r.normSum).toBeCloseTo(disk.weights.norm.reduce((a, b) => a + b, 0), 5);
    expect(r.commit).toBe(hub.commitOf('golden/f32-sharded'));
    expect(hub.requests.slice(mark).filter((q) => q.server === 'cdn' && q.method === 'GET')).toHaveLength(2);
  });

  it('a gated model: the typed error without a token; with it, the token reaches the Hub and never the CDN', async () => {
    const refused = await open('gated/f32-mha');
    expect(refused).toMatchObject({ ok: false, code: 'gated' });
    expect(refused.message).toMatch(/gated\/f32-mha is a gated model/);
    const mark = hub.requests.length;
    const r = await open('gated/f32-mha', GATED_TOKEN);
    expect(r.ok, r.message).toBe(true);
    const seen = hub.requests.slice(mark);
    expect(seen.some((q) => q.server === 'hub' && q.method === 'OPTIONS')).toBe(true); // the preflight for Authorization
    expect(seen.filter((q) => q.server === 'hub' && q.method !== 'OPTIONS').every((q) => q.authorization === `Bearer ${GATED_TOKEN}`)).toBe(true);
    const cdn = seen.filter((q) => q.server === 'cdn');
    expect(cdn.length).toBeGreaterThan(0);
    expect(cdn.every((q) => q.authorization === undefined)).toBe(true);
    // The browser logs every 4xx as a console error: the refusals (401, 403) and the probes for
    // files a repository lacks (404: model.safetensors beside shards, tokenizer.json). Nothing else may appear.
    expect(errors.filter((e) => !/Failed to load resource: the server responded with a status of 40[134]/.test(e))).toEqual([]);
  });
});

// Shared by the site's browser tests: build the site as `npm run build` does, serve it from a
// sub-path of a static host with everything else refused (offline), open pages with a recorder of
// long tasks, wait for notebooks to settle, edit cells as a person would, save screenshots.
import { build } from 'vite';
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { WEBGPU_BROWSERS, watchErrors } from './chromium.ts';
import type { StaticServer } from './static-server.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const SHOTS = path.join(ROOT, 'test-results/site');
export const SUBPATH = '/courses/moe-101/mixscope/';
export const GENERATE_TIMEOUT = 240_000;

export interface Backend { name: 'webgpu' | 'cpu'; browser: Browser }

export async function buildSite(): Promise<string> {
  const host = mkdtempSync(path.join(tmpdir(), 'mixscope-site-'));
  const outDir = path.join(host, 'built');
  await build({ configFile: path.join(ROOT, 'vite.config.ts'), logLevel: 'silent', build: { outDir, emptyOutDir: true } });
  // A static host where the site is not at the root.
  const site = path.join(host, 'www', SUBPATH);
  mkdirSync(path.dirname(site), { recursive: true });
  cpSync(outDir, site, { recursive: true });
  return path.join(host, 'www');
}

/**
 * Long tasks on the main thread and the span of the tour's generation (first status line until the
 * done one), recorded in the page from its first script on.
 */
const RECORDER = `
  window.__longTasks = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration }); })
    .observe({ type: 'longtask', buffered: true });
  window.__generation = { start: null, end: null };
  new MutationObserver(() => {
    const s = document.querySelector('.tour-status');
    if (!s) return;
    // The marks place the span in a browser trace too (task-trace.ts).
    if (s.dataset.done === 'false' && window.__generation.start === null) { window.__generation.start = performance.now(); performance.mark('mixscope-generation-start'); }
    if (s.dataset.done === 'true' && window.__generation.start !== null && window.__generation.end === null) { window.__generation.end = performance.now(); performance.mark('mixscope-generation-end'); }
  }).observe(document, { subtree: true, childList: true, attributes: true });
`;

export interface OpenedPage { page: Page; errors: string[]; outside: string[]; dialogs: string[] }

/**
 * `height`: a viewport tall enough to hold every view of the tour keeps them all in sight, so each
 * draws every frame. In a browser launched with WebGPU the page asks for the WebGPU engine
 * (`?backend=webgpu`), which the site would otherwise not choose on SwiftShader, a software
 * fallback adapter slower than the CPU engine; `backend: 'auto'` leaves the choice to the site.
 */
export async function open(browser: Browser, server: StaticServer, hash: string, { height = 900, width = 1100, backend = 'webgpu' as 'webgpu' | 'auto' } = {}): Promise<OpenedPage> {
  const page = await browser.newPage({ viewport: { width, height } });
  if (WEBGPU_BROWSERS.has(browser) && backend === 'webgpu' && !hash.includes('backend=')) hash = `?backend=webgpu${hash}`;
  const errors = watchErrors(page);
  const outside: string[] = [];
  const dialogs: string[] = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
  // Offline: nothing but the static host answers.
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(server.url)) return route.continue();
    outside.push(url);
    return route.abort();
  });
  await page.addInitScript(RECORDER);
  await page.goto(`${server.url}${SUBPATH}${hash}`);
  return { page, errors, outside, dialogs };
}

/** Main-thread tasks over 50 ms while the tour generated (from its first status line to its done one). */
export async function longTasksDuringGeneration(page: Page) {
  return page.evaluate(() => {
    const w = window as unknown as { __longTasks: { start: number; duration: number }[]; __generation: { start: number; end: number } };
    const g = w.__generation;
    const during = w.__longTasks.filter((t) => t.start + t.duration >= g.start && t.start <= g.end);
    return { generationMs: g.end - g.start, longest: Math.max(0, ...during.map((t) => t.duration)), count: during.length, all: w.__longTasks.length };
  });
}

/** Every view of the page lies wholly inside the viewport (so each draws every frame). */
export const everyViewInSight = (page: Page) => page.evaluate(() => {
  const views = [...document.querySelectorAll('.mx-view')];
  return { views: views.length, inSight: views.filter((v) => { const r = v.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }).length, pageHeight: document.documentElement.scrollHeight };
});

export const status = (page: Page) => page.locator('.tour-status');

export async function waitForDone(page: Page): Promise<{ step: number; text: string; finish: string | null }> {
  // Polled without a visibility check: Playwright's visibility polling forces a layout every
  // frame, which would be counted against the page's own main-thread tasks.
  await page.waitForFunction(() => document.querySelector('.tour-status[data-done="true"]'), undefined, { timeout: GENERATE_TIMEOUT, polling: 250 });
  return { step: Number(await status(page).getAttribute('data-step')), text: (await status(page).textContent()) ?? '', finish: await status(page).getAttribute('data-finish') };
}

/**
 * Waits until no cell is running for a second (a notebook at rest). A generator cell between two
 * of its values is not running to the runtime; with `untilDone`, the wait also lasts while any
 * output says it is not finished (`data-done="false"`, the notebooks' convention for a generator
 * still producing: a generation, an analysis, the router's steps).
 */
export async function waitForRest(page: Page, timeout = GENERATE_TIMEOUT, { untilDone = false } = {}): Promise<void> {
  await page.waitForFunction((untilDone) => {
    const w = window as unknown as { __restSince?: number };
    const busy = document.querySelectorAll('.nb-output.nb-running').length > 0 || !document.querySelector('.nb-notebook')
      || (untilDone && document.querySelector('.nb-notebook [data-done="false"]') !== null);
    if (busy) { w.__restSince = undefined; return false; }
    w.__restSince ??= performance.now();
    return performance.now() - w.__restSince > 1000;
  }, untilDone, { timeout, polling: 200 });
}

export async function promptTokens(page: Page, prompt: string): Promise<number> {
  return page.evaluate((p) => (window as unknown as { mixscopeClient: { tokenizer: { encode(t: string): { ids: number[] } } } }).mixscopeClient.tokenizer.encode(p).ids.length, prompt);
}

/** Replace a cell's source through its editor, as a person would, and run it with Shift-Enter. */
export async function editCell(page: Page, cellText: string | RegExp, source: string): Promise<void> {
  const root = page.locator('.nb-cell', { hasText: cellText }).first();
  if (await root.locator('.nb-source').isHidden()) await root.locator('.nb-toggle').click();
  await root.locator('.cm-content').click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Backspace');
  await page.keyboard.insertText(source);
  await page.keyboard.press('Shift+Enter');
}

/**
 * A full-page screenshot with every cell painted: outputs off-screen skip painting
 * (content-visibility: auto), so without this a full-page shot shows blanks below the fold. Views
 * out of sight draw their latest data when the page is idle (within a second); the shot waits for
 * that, and the page is left as it was.
 */
export async function shot(page: Page, name: string): Promise<Buffer> {
  mkdirSync(SHOTS, { recursive: true });
  const style = await page.addStyleTag({ content: '.nb-output { content-visibility: visible !important; }' });
  const y = await page.evaluate(() => { const y = window.scrollY; window.scrollTo(0, 0); return y; });
  await page.evaluate(() => new Promise<void>((resolve) => {
    const idle = (window as unknown as { requestIdleCallback?: (f: () => void, o: { timeout: number }) => void }).requestIdleCallback;
    const after = () => requestAnimationFrame(() => requestAnimationFrame(() => resolve()));
    if (idle) idle(after, { timeout: 1500 }); else setTimeout(after, 200);
  }));
  await page.waitForTimeout(300);
  const png = await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true, timeout: 120_000 });
  await style.evaluate((el) => (el as Element).remove());
  await page.evaluate((y) => window.scrollTo(0, y), y);
  return png;
}


// The notebook engine in headless Chromium: a fixture notebook built with the notebooks Vite
// plugin, driven with real mouse and keyboard events, checked on the DOM, offline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, watchErrors } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { notebooksPlugin } from '../../site/notebook/vite-plugin.ts';
import type { MountedNotebook } from '../../site/notebook/index.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SCREENSHOTS = path.join(ROOT, 'test-results/notebook');
const PAGE = '<!doctype html><meta charset="utf-8"><title>notebook</title><body style="margin:0"><div id="app"></div><script type="module" src="/notebook.js"></script>';

async function bundleNotebookPage(): Promise<string> {
  const outDir = mkdtempSync(path.join(tmpdir(), 'mixscope-notebook-'));
  await build({
    configFile: false,
    root: ROOT,
    logLevel: 'silent',
    plugins: [notebooksPlugin({ dir: path.join(ROOT, 'notebooks/fixtures') })],
    build: {
      lib: { entry: path.join(ROOT, 'tests/browser/notebook-entry.ts'), formats: ['es'], fileName: () => 'notebook.js' },
      outDir, emptyOutDir: true, minify: false, target: 'es2022',
    },
  });
  return outDir;
}

const cell = (page: Page, name: string) => page.locator('.nb-cell', { has: page.locator('.nb-name', { hasText: new RegExp(`^${name} = $`) }) });
const output = (page: Page, id: string) => page.locator(`.nb-cell[data-cell-id="${id}"] .nb-output`);

/** Replace a cell's source through its editor, as a person would, and run it with Shift-Enter. */
async function editCell(page: Page, id: string, source: string): Promise<void> {
  const root = page.locator(`.nb-cell[data-cell-id="${id}"]`);
  if (await root.locator('.nb-source').isHidden()) await root.locator('.nb-toggle').click();
  await root.locator('.cm-content').click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Backspace');
  await page.keyboard.insertText(source);
  await page.keyboard.press('Shift+Enter');
}

describe('notebook in headless Chromium', () => {
  let browser: Browser;
  let server: StaticServer;
  let page: Page;
  let errors: string[];
  const requests: string[] = [];

  beforeAll(async () => {
    const dir = await bundleNotebookPage();
    server = await serveDirectory(dir, { '/': PAGE });
    browser = await launchChromium({ webgpu: false });
    page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    errors = watchErrors(page);
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${server.url}/?nb=basics`);
    await page.evaluate(() => window.notebookReady);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('lists the fixture notebooks by order, then title', async () => {
    expect(await page.evaluate(() => window.notebookList)).toEqual(['also-first', 'basics', 'later', 'width']);
  });

  it('renders prose, a slider, its dependents, the inline expression, an md cell and host builtins', async () => {
    await expect.poll(() => cell(page, 'doubled').locator('.nb-output').textContent()).toBe('doubled = 6');
    await expect.poll(() => cell(page, 'quadrupled').locator('.nb-output').textContent()).toBe('quadrupled = 12');
    expect(await page.locator('.nb-prose .nb-inline').first().textContent()).toBe('6');
    expect(await page.locator('.nb-title').textContent()).toBe('Notebook basics');
    expect(await page.locator('.nb-prose strong').first().textContent()).toBe('fixture');
    expect(await page.locator('input[type=range]').inputValue()).toBe('3');
    const md = page.locator('.nb-md');
    expect(await md.locator('h3').textContent()).toBe('Markdown from a cell');
    expect(await md.textContent()).toContain('The slider says 3; clicks so far: 0. Escaped: <b>not bold</b>.');
    expect(await md.locator('p b').count()).toBe(0);
    await expect.poll(() => cell(page, 'greeting').locator('.nb-output').textContent()).toBe('greeting = "HELLO FROM THE HOST"');
    const table = cell(page, 'summaryTable');
    expect(await table.locator('summary').first().textContent()).toBe('{experts: 8, topK: 2, layers: Array(4), ratio: 0.375}');
    await table.locator('summary').first().click();
    expect(await table.locator('.nb-inspect-entry').allTextContents()).toEqual(['experts: 8', 'topK: 2', 'layers: Array(4) [0, 1, 2, 3]', 'ratio: 0.375']);
  });

  it('runs a ```js hide cell without showing its value, and its dependents see it', async () => {
    await expect.poll(() => cell(page, 'revealed').locator('.nb-output').textContent()).toBe('revealed = 3001');
    expect(await page.getByText('secret = ').count()).toBe(0);
  });

  it('runs a generator cell through all its values', async () => {
    await expect.poll(() => cell(page, 'ticks').locator('.nb-output').textContent()).toBe('ticks = 3');
  });

  it('updates dependents and inline prose when the slider moves', async () => {
    await page.locator('input[type=range]').focus();
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowRight');
    await expect.poll(() => cell(page, 'doubled').locator('.nb-output').textContent()).toBe('doubled = 14');
    await expect.poll(() => cell(page, 'quadrupled').locator('.nb-output').textContent()).toBe('quadrupled = 28');
    expect(await page.locator('.nb-prose .nb-inline').first().textContent()).toBe('14');
    expect(await page.locator('.nb-md').textContent()).toContain('The slider says 7;');
  });

  it('updates a mutable from another cell and re-runs its readers', async () => {
    await page.getByRole('button', { name: 'Click' }).click();
    await page.getByRole('button', { name: 'Click' }).click();
    await expect.poll(() => cell(page, 'clicks').locator('.nb-output').textContent()).toBe('clicks = 2');
    await expect.poll(() => page.locator('.nb-md').textContent()).toContain('clicks so far: 2.');
  });

  it('shows a throwing cell\'s error in place while the rest keeps working', async () => {
    const boom = page.locator('.nb-cell', { has: page.locator('.nb-error') });
    expect(await boom.count()).toBe(1);
    expect(await boom.locator('.nb-error').textContent()).toBe('Expected failure from the fixture');
    expect(await boom.locator('.nb-error').evaluate((e) => getComputedStyle(e).color)).toBe('rgb(201, 42, 42)');
  });

  it('re-runs a cell and its dependents after editing it and pressing Shift-Enter', async () => {
    const id = await cell(page, 'doubled').getAttribute('data-cell-id');
    await editCell(page, id!, 'doubled = k * 100');
    await expect.poll(() => output(page, id!).textContent()).toBe('doubled = 700');
    await expect.poll(() => cell(page, 'quadrupled').locator('.nb-output').textContent()).toBe('quadrupled = 1400');
    // Still reactive to the slider after the redefinition.
    await page.locator('input[type=range]').focus();
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => output(page, id!).textContent()).toBe('doubled = 600');
  });

  it('shows a syntax error in the edited cell and its dependents, and recovers when fixed', async () => {
    const id = await cell(page, 'doubled').getAttribute('data-cell-id');
    const quadrupled = await cell(page, 'quadrupled').getAttribute('data-cell-id');
    await editCell(page, id!, 'doubled = k *');
    await expect.poll(() => output(page, id!).locator('.nb-error').textContent()).toMatch(/^SyntaxError: Unexpected end of input/);
    await expect.poll(() => output(page, quadrupled!).locator('.nb-error').textContent()).toMatch(/Unexpected end of input/);
    // The Run button does what Shift-Enter does.
    await editCell(page, id!, 'doubled = k + 1');
    await expect.poll(() => output(page, id!).textContent()).toBe('doubled = 7');
    await expect.poll(() => output(page, quadrupled!).textContent()).toBe('quadrupled = 14');
  });

  it('runs an edited cell with the Run button and fixes the throwing cell', async () => {
    const boom = page.locator('.nb-cell', { has: page.locator('.nb-error') });
    const id = (await boom.getAttribute('data-cell-id'))!;
    await boom.locator('.nb-toggle').click();
    await boom.locator('.cm-content').click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.insertText('boom = "fixed"');
    await boom.locator('.nb-run').click();
    await expect.poll(() => output(page, id).textContent()).toBe('boom = "fixed"');
    expect(await page.locator('.nb-error').count()).toBe(0);
  });

  it('looks clean (screenshot) and made no network request outside the local server and logged no errors', async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.reload();
    await page.evaluate(() => window.notebookReady);
    await expect.poll(() => cell(page, 'ticks').locator('.nb-output').textContent()).toBe('ticks = 3');
    await page.locator('.nb-cell[data-cell-id="cell-1"] .nb-toggle').click();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'basics.png'), fullPage: true });
    expect(requests.filter((url) => !url.startsWith(server.url))).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('gives `width` only once the notebook is laid out: never 0 while detached, then each new width', async () => {
    // A chart drawn at width 0 has its margins overlap (negative bar widths): a notebook mounted
    // into a detached container waits until it is on the page.
    const widths = () => page.evaluate(() => window.widthsSeen ?? []);
    // The box's width less the notebook's own padding.
    const inside = (box: number) => page.evaluate((box) => {
      const style = getComputedStyle(document.querySelector('#width-box .nb-notebook')!);
      return box - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    }, box);
    await page.evaluate(async () => {
      const box = document.createElement('div');
      box.id = 'width-box';
      box.style.width = '320px';
      (window as unknown as { widthNotebook: unknown }).widthNotebook = await window.mountFixture!('width', box);
      (window as unknown as { widthBox: HTMLElement }).widthBox = box;
    });
    await page.waitForTimeout(500);
    expect(await widths()).toEqual([]);
    await page.evaluate(() => document.body.append((window as unknown as { widthBox: HTMLElement }).widthBox));
    const narrow = await inside(320);
    expect(narrow).toBeGreaterThan(0);
    await expect.poll(widths).toEqual([narrow]);
    // Taken off the page and put back wider: no 0 in between.
    await page.evaluate(() => (window as unknown as { widthBox: HTMLElement }).widthBox.remove());
    await page.waitForTimeout(300);
    await page.evaluate(() => {
      const box = (window as unknown as { widthBox: HTMLElement }).widthBox;
      box.style.width = '400px';
      document.body.append(box);
    });
    await expect.poll(widths).toEqual([narrow, await inside(400)]);
    await page.evaluate(() => ((window as unknown as { widthNotebook: MountedNotebook }).widthNotebook).dispose());
    expect(await page.locator('#width-box').innerHTML()).toBe('');
  });

  it('disposes: the notebook leaves the page', async () => {
    await page.evaluate(() => window.notebook!.dispose());
    expect(await page.locator('#app').innerHTML()).toBe('');
  });
});

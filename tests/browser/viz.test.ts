// The six viz views in headless Chromium on synthetic data: what each draws, that update() adds one
// token's elements and keeps the rest, linked hover, text-only token rendering, export, screenshots.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { launchChromium, watchErrors } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { bundleForBrowser } from './bundle.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const shots = path.join(here, '../../test-results/viz');
const PAGE = '<!doctype html><meta charset="utf-8"><title>viz</title><body style="margin:16px;background:#fff"><div id="root"></div>'
  + '<script type="module">import * as m from "./viz.js"; window.viz = m;</script>';

// Page-side code is written against `window.viz` (the bundled viz-entry.ts).
declare global { interface Window { viz: any; views: any; dialogs: number } }

describe('viz views in headless Chromium', () => {
  let browser: Browser, server: StaticServer, page: Page, errors: string[];
  const dialogs: string[] = [];

  beforeAll(async () => {
    const dir = await bundleForBrowser(path.join(here, 'viz-entry.ts'), 'viz');
    server = await serveDirectory(dir, { '/': PAGE });
    browser = await launchChromium({ webgpu: false });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    errors = watchErrors(page);
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });
    mkdirSync(shots, { recursive: true });
  }, 180_000);
  afterAll(async () => { await browser?.close(); await server?.close(); });

  const fresh = async () => {
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => window.viz !== undefined);
  };

  it('token strip: one chip per token, filled with the first-choice colour and banded with the second', async () => {
    await fresh();
    const r = await page.evaluate(() => {
      const { fixtures, createTokenStrip, expertColor, d3color } = window.viz;
      const data = fixtures.makeRouting(40);
      const view = createTokenStrip(data, { layer: 2 });
      document.getElementById('root')!.append(view);
      const chips = [...view.querySelectorAll('span.mx-chip')] as HTMLElement[];
      const L = data.layers[2];
      const rgb = (c: string) => d3color(c).toString();
      return {
        n: chips.length,
        fill: chips.every((c, t) => getComputedStyle(c).backgroundColor === rgb(expertColor(L.indices[t * 2], 8))),
        band: chips.every((c, t) => getComputedStyle(c).borderBottomColor === rgb(expertColor(L.indices[t * 2 + 1], 8))),
        newline: chips[5].textContent,
        brs: view.querySelectorAll('span.mx-token br').length,
        space: chips[1].textContent,
        legend: view.querySelectorAll('.mx-legend-item').length,
        rows: view.rows(),
      };
    });
    expect(r.n).toBe(40);
    expect(r.fill).toBe(true);
    expect(r.band).toBe(true);
    expect(r.newline).toBe('↵');
    expect(r.brs).toBeGreaterThanOrEqual(4);
    expect(r.space).toBe(' fibonacci');
    expect(r.legend).toBe(8);
    expect(r.rows).toHaveLength(40);
    expect(r.rows[1]).toMatchObject({ position: 1, text: ' fibonacci', layer: 2 });
    expect(Object.keys(r.rows[0])).toEqual(expect.arrayContaining(['expert1', 'weight1', 'expert2', 'weight2']));
  });

  it('update() with one more token adds exactly that token\'s elements and keeps every existing node', async () => {
    await fresh();
    const r = await page.evaluate(() => {
      const v = window.viz, f = v.fixtures;
      const full = f.makeRouting(41), att = f.makeAttention(41);
      const root = document.getElementById('root')!;
      const views = {
        strip: v.createTokenStrip(f.sliceRouting(full, 40), {}),
        heat: v.createRouterHeatmap(f.sliceRouting(full, 40), { layer: 1 }),
        load: v.createExpertLoad(f.sliceRouting(full, 40), {}),
        paths: v.createRoutingPaths(f.sliceRouting(full, 40), { mode: 'aggregate' }),
        map: v.createAttentionMap(f.sliceAttention(att, 40), { head: 1 }),
        grid: v.createAttentionGrid(f.sliceAttention(att, 40), {}),
      };
      root.append(...Object.values(views) as HTMLElement[]);
      const sel: Record<string, string> = { strip: 'span.mx-chip', heat: 'rect.mx-cell', load: 'rect.mx-bar', paths: 'rect.mx-node', map: 'canvas', grid: 'canvas' };
      const before = Object.fromEntries(Object.entries(views).map(([k, view]: [string, any]) => [k, [...view.querySelectorAll(sel[k])]]));
      const rowsBefore = [...views.heat.querySelectorAll('g.mx-row')];
      views.strip.update(f.sliceRouting(full, 41));
      views.heat.update(f.sliceRouting(full, 41));
      views.load.update(f.sliceRouting(full, 41));
      views.paths.update(f.sliceRouting(full, 41));
      views.map.update(f.sliceAttention(att, 41));
      views.grid.update(f.sliceAttention(att, 41));
      const after = Object.fromEntries(Object.entries(views).map(([k, view]: [string, any]) => [k, [...view.querySelectorAll(sel[k])]]));
      const kept = Object.fromEntries(Object.keys(views).map((k) => [k, before[k].every((n, i) => after[k][i] === n)]));
      const rowsAfter = [...views.heat.querySelectorAll('g.mx-row')];
      return {
        counts: Object.fromEntries(Object.keys(views).map((k) => [k, [before[k].length, after[k].length]])),
        kept,
        rowsKept: rowsBefore.every((n, i) => rowsAfter[i] === n),
        rows: [rowsBefore.length, rowsAfter.length],
        loadTotal: views.load.rows().filter((x: any) => x.layer === 0).reduce((s: number, x: any) => s + x.first, 0),
        lastChip: (after.strip[40] as HTMLElement).dataset.position,
      };
    });
    expect(r.counts.strip).toEqual([40, 41]);
    expect(r.counts.heat).toEqual([40 * 8, 41 * 8]);
    expect(r.rows).toEqual([40, 41]);
    expect(r.counts.load).toEqual([6 * 8, 6 * 8]);
    expect(r.counts.paths).toEqual([6 * 8, 6 * 8]);
    expect(r.counts.map).toEqual([1, 1]);
    expect(r.counts.grid).toEqual([8, 8]);
    expect(r.kept).toEqual({ strip: true, heat: true, load: true, paths: true, map: true, grid: true });
    expect(r.rowsKept).toBe(true);
    expect(r.loadTotal).toBe(41);
    expect(r.lastChip).toBe('40');
  });

  it('router heatmap: a cell per token and expert with its probability, and a dot on each chosen expert', async () => {
    await fresh();
    const r = await page.evaluate(() => {
      const v = window.viz, data = v.fixtures.makeRouting(40);
      const view = v.createRouterHeatmap(data, { layer: 3 });
      document.getElementById('root')!.append(view);
      const L = data.layers[3];
      const rows = [...view.querySelectorAll('g.mx-row')] as SVGGElement[];
      const probsOk = rows.every((g, t) => [...g.querySelectorAll('rect.mx-cell')].every((c, e) => Math.abs(+c.getAttribute('data-prob')! - L.probs[t * 8 + e]) < 1e-3));
      const dotsOk = rows.every((g, t) => [...g.querySelectorAll('circle.mx-choice')].map((c) => +c.getAttribute('data-expert')!).sort().join() === [L.indices[t * 2], L.indices[t * 2 + 1]].sort().join());
      const firstOk = rows.every((g, t) => g.querySelector('circle.mx-choice[data-rank="0"]')!.getAttribute('data-expert') === String(L.indices[t * 2]));
      return {
        probsOk, dotsOk, firstOk,
        xLabels: [...view.querySelectorAll('g.mx-x-axis g.mx-tick text')].map((t) => t.textContent),
        yLabel: view.querySelector('text.mx-row-label')!.textContent,
        rows: view.rows().length,
      };
    });
    expect(r.probsOk).toBe(true);
    expect(r.dotsOk).toBe(true);
    expect(r.firstOk).toBe(true);
    expect(r.xLabels).toEqual(['E0', 'E1', 'E2', 'E3', 'E4', 'E5', 'E6', 'E7']);
    expect(r.yLabel).toBe('0  def');
    expect(r.rows).toBe(40 * 8);
  });

  it('expert load: bars per layer and expert match the first-choice counts, with a dashed uniform line at 1/E (in top-k mode too: shares of all choices)', async () => {
    await fresh();
    const r = await page.evaluate(() => {
      const v = window.viz, data = v.fixtures.makeRouting(40);
      const first = v.createExpertLoad(data, {});
      const topk = v.createExpertLoad(data, { count: 'topk', layers: [0, 5] });
      document.getElementById('root')!.append(first, topk);
      const counts = (l: number) => { const c = new Array(8).fill(0); for (let t = 0; t < 40; t++) c[data.layers[l].indices[t * 2]]++; return c; };
      const panel = (view: HTMLElement, i: number) => view.querySelectorAll('g.mx-panel')[i];
      const bars = (view: HTMLElement, i: number) => [...panel(view, i).querySelectorAll('rect.mx-bar')].map((b) => +b.getAttribute('data-count')!);
      const uniformY = (view: HTMLElement) => +panel(view, 0).querySelector('line.mx-uniform')!.getAttribute('y1')!;
      const axisY = (view: HTMLElement, share: number) => {
        // The y axis tick at `share` gives the scale; compare the uniform line's height against it.
        const ticks = [...panel(view, 0).querySelectorAll('.mx-y-axis .tick')] as SVGGElement[];
        const t0 = ticks[0], t1 = ticks[1];
        const y = (g: SVGGElement) => +g.getAttribute('transform')!.match(/,([\d.]+)/)![1];
        const v0 = +(t0 as any).__data__, v1 = +(t1 as any).__data__;
        return y(t0) + ((share - v0) / (v1 - v0)) * (y(t1) - y(t0));
      };
      return {
        panels: first.querySelectorAll('g.mx-panel').length,
        firstOk: [0, 1, 2, 3, 4, 5].every((l) => bars(first, l).join() === counts(l).join()),
        dashed: first.querySelector('line.mx-uniform')!.getAttribute('stroke-dasharray'),
        uniformFirst: Math.abs(uniformY(first) - axisY(first, 1 / 8)),
        uniformTopk: Math.abs(uniformY(topk) - axisY(topk, 1 / 8)),
        topkPanels: topk.querySelectorAll('g.mx-panel').length,
        topkSum: bars(topk, 1).reduce((a, b) => a + b, 0),
        titles: [...topk.querySelectorAll('.mx-panel-title')].map((t) => t.textContent),
      };
    });
    expect(r.panels).toBe(6);
    expect(r.firstOk).toBe(true);
    expect(r.dashed).toBeTruthy();
    // d3 axes offset ticks by half a pixel for crisp lines.
    expect(r.uniformFirst).toBeLessThan(1);
    expect(r.uniformTopk).toBeLessThan(1);
    expect(r.topkPanels).toBe(2);
    expect(r.topkSum).toBe(80);
    expect(r.titles).toEqual(['layer 0', 'layer 5']);
  });

  it('attention map: draws the sliding-window edge at key q - window + 1, and none without a window', async () => {
    await fresh();
    const r = await page.evaluate(() => {
      const v = window.viz, f = v.fixtures;
      const view = v.createAttentionMap(f.makeAttention(40, { window: 16 }), { head: 3, width: 640, maxSize: 400 });
      const none = v.createAttentionMap(f.makeAttention(40, { window: null }), {});
      document.getElementById('root')!.append(view, none);
      const d = view.querySelector('path.mx-window-edge')!.getAttribute('d')!;
      const nums = d.match(/-?[\d.]+/g)!.map(Number);
      const size = +view.querySelector('rect.mx-frame')!.getAttribute('width')!;
      // The painted cell at query 20, key 4 (outside the window) is the masked grey; key 5 is inside.
      const canvas = view.querySelector('canvas') as HTMLCanvasElement;
      const ctx = canvas.getContext('2d')!;
      const px = (q: number, k: number) => [...ctx.getImageData(Math.floor((k + 0.5) * canvas.width / 40), Math.floor((q + 0.5) * canvas.height / 40), 1, 1).data].slice(0, 3);
      return { first: nums.slice(0, 4), cell: size / 40, none: none.querySelectorAll('path.mx-window-edge').length, outside: px(20, 4), inside: px(20, 5), note: view.querySelector('.mx-legend-note')!.textContent };
    });
    // First step: query 16's row, whose oldest visible key is 16 - 16 + 1 = 1.
    expect(r.first[0]).toBeCloseTo(1 * r.cell, 3);
    expect(r.first[1]).toBeCloseTo(16 * r.cell, 3);
    expect(r.first[3]).toBeCloseTo(17 * r.cell, 3);
    expect(r.none).toBe(0);
    expect(r.outside).toEqual([243, 244, 246]);
    expect(r.inside).not.toEqual([243, 244, 246]);
    expect(r.note).toContain('head 3 (kv 0)');
  });

  it('attention views fed a growing sequence paint only its new rows, and end as a whole paint of it does, pooled or not', async () => {
    await fresh();
    const r = await page.evaluate(() => {
      const v = window.viz, f = v.fixtures;
      const big = f.makeAttention(300, { heads: 4, kvHeads: 2, window: 64 });
      const seq = {};
      // A 200 px map: one cell per pixel up to 200 tokens, pooled beyond.
      const grid = v.createAttentionGrid(f.streamAttention(big, 1, seq), { width: 640 });
      const map = v.createAttentionMap(f.streamAttention(big, 1, seq), { maxSize: 200, width: 400 });
      document.getElementById('root')!.append(grid, map);
      const pixels = (el: HTMLElement) => [...el.querySelectorAll('canvas')].map((c) => Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data));
      const at: Record<number, { grid: number[][]; map: number[][] }> = {};
      for (let T = 2; T <= 300; T += 7) {
        const d = f.streamAttention(big, T, seq);
        grid.update(d); map.update(d);
        if (T === 156) at[T] = { grid: pixels(grid), map: pixels(map) };
      }
      const last = f.streamAttention(big, 300, seq);
      grid.update(last); map.update(last);
      // The same data painted whole, on new views (a new sequence: nothing to extend).
      const whole = (T: number) => {
        const d = f.streamAttention(big, T, {});
        const g = v.createAttentionGrid(d, { width: 640 }), m = v.createAttentionMap(d, { maxSize: 200, width: 400 });
        document.getElementById('root')!.append(g, m);
        return { grid: pixels(g), map: pixels(m) };
      };
      const same = (a: number[][], b: number[][]) => a.length === b.length && a.every((x, i) => x.length === b[i].length && x.every((y, j) => y === b[i][j]));
      const w156 = whole(156), w300 = whole(300);
      const gridPx = grid.querySelector('canvas')!.width, mapPx = map.querySelector('canvas')!.width;
      return {
        gridPx, mapPx,
        grid156: same(at[156].grid, w156.grid), map156: same(at[156].map, w156.map),
        grid300: same(pixels(grid), w300.grid), map300: same(pixels(map), w300.map),
        painted: pixels(map)[0].some((x, i) => i % 4 === 2 && x > 0 && x < 240),
      };
    });
    // The map pools at 300 tokens, one cell per pixel at 156; both ways give the same pixels.
    expect(r.mapPx).toBe(200);
    expect(r.gridPx).toBeLessThan(156);
    expect(r).toMatchObject({ grid156: true, map156: true, grid300: true, map300: true, painted: true });
  });

  it('attention grid: heads grouped by key/value head with "kv g" labels; clicking a head selects it through onSelectHead', async () => {
    await fresh();
    const r = await page.evaluate(() => {
      const v = window.viz;
      const picked: number[] = [];
      const view = v.createAttentionGrid(v.fixtures.makeAttention(40, { heads: 8, kvHeads: 2 }), { onSelectHead: (h: number) => picked.push(h) });
      document.getElementById('root')!.append(view);
      const groups = [...view.querySelectorAll('.mx-kv-group')];
      (view.querySelector('.mx-head-cell[data-head="5"]') as HTMLElement).click();
      return {
        labels: groups.map((g) => g.querySelector('.mx-kv-label')!.textContent),
        heads: groups.map((g) => [...g.querySelectorAll('.mx-head-cell')].map((c) => +(c as HTMLElement).dataset.head!)),
        picked,
        selected: [...view.querySelectorAll('.mx-head-cell.mx-selected')].map((c) => (c as HTMLElement).dataset.head),
      };
    });
    expect(r.labels).toEqual(['kv 0 · heads 0–3', 'kv 1 · heads 4–7']);
    expect(r.heads).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(r.picked).toEqual([5]);
    expect(r.selected).toEqual(['5']);
  });

  it('routing paths: follows a token through its chosen experts in every layer; aggregate mode draws first-choice flows', async () => {
    await fresh();
    const r = await page.evaluate(() => {
      const v = window.viz, data = v.fixtures.makeRouting(40);
      const token = v.createRoutingPaths(data, { token: 7 });
      const agg = v.createRoutingPaths(data, { mode: 'aggregate', token: 7 });
      document.getElementById('root')!.append(token, agg);
      const chosen = [...token.querySelectorAll('rect.mx-token-node')].map((n) => `${n.getAttribute('data-layer')}:${n.getAttribute('data-expert')}`).sort();
      const expected = data.layers.flatMap((L: any, l: number) => [0, 1].map((k) => `${l}:${L.indices[7 * 2 + k]}`)).sort();
      const flows = agg.rows();
      return {
        chosen, expected,
        links: token.querySelectorAll('path.mx-token-link').length,
        ribbons: agg.querySelectorAll('path.mx-ribbon').length,
        flowRows: flows.length,
        flowTotal: flows.filter((x: any) => x.layer === 0).reduce((s: number, x: any) => s + x.count, 0),
        aggPath: agg.querySelectorAll('path.mx-token-link').length,
        title: token.querySelector('text.mx-token-title')!.textContent,
        tokenRows: token.rows().length,
      };
    });
    expect(r.chosen).toEqual(r.expected);
    expect(r.links).toBe(5 * 4);
    expect(r.ribbons).toBe(r.flowRows);
    expect(r.flowTotal).toBe(40);
    expect(r.aggPath).toBe(5);
    expect(r.title).toContain('token 7');
    expect(r.tokenRows).toBe(12);
  });

  it('next token: one bar per candidate, longest for the most likely, the chosen one marked', async () => {
    await fresh();
    const r = await page.evaluate(() => {
      const v = window.viz, data = v.fixtures.makeNextToken(39);
      const view = v.createNextToken(data, { top: 8 });
      document.getElementById('root')!.append(view);
      const widths = [...view.querySelectorAll('rect.mx-bar')].map((b) => +b.getAttribute('width')!);
      return { n: widths.length, sorted: widths.every((w, i) => i === 0 || w <= widths[i - 1]), chosen: [...view.querySelectorAll('g.mx-chosen text.mx-bar-label')].map((t) => t.textContent), id: data.candidates[1].text, rows: view.rows() };
    });
    expect(r.n).toBe(8);
    expect(r.sorted).toBe(true);
    expect(r.chosen).toHaveLength(1);
    expect(r.chosen[0]).toContain('▶');
    expect(r.rows.filter((x: any) => x.chosen === 1)).toHaveLength(1);
  });

  it('linked hover: hovering a chip highlights that token in the heatmap, the attention map, the grid and the routing paths', async () => {
    await fresh();
    await page.evaluate(() => {
      const v = window.viz, f = v.fixtures;
      const link = v.createHoverLink();
      const data = f.makeRouting(40), att = f.makeAttention(40);
      window.views = {
        link,
        strip: v.createTokenStrip(data, { link }),
        heat: v.createRouterHeatmap(data, { link }),
        map: v.createAttentionMap(att, { link, maxSize: 400 }),
        grid: v.createAttentionGrid(att, { link }),
        paths: v.createRoutingPaths(data, { link }),
        load: v.createExpertLoad(data, { link }),
      };
      const { link: _l, ...views } = window.views;
      document.getElementById('root')!.append(...Object.values(views) as HTMLElement[]);
    });
    await page.hover('span.mx-chip[data-position="7"]');
    const r = await page.evaluate(() => {
      const w = window.views;
      return {
        link: w.link.get(),
        chip: [...w.strip.querySelectorAll('span.mx-chip.mx-hover')].map((c: any) => c.dataset.position),
        heat: [...w.heat.querySelectorAll('g.mx-row.mx-hover')].map((g: any) => g.__data__.token.position),
        map: w.map.querySelector('rect.mx-hover-row').getAttribute('data-query'),
        grid: getComputedStyle(w.grid.querySelector('.mx-row-mark')).display,
        paths: w.paths.querySelector('text.mx-token-title').textContent,
        load: w.load.querySelectorAll('rect.mx-bar.mx-hover').length,
      };
    });
    expect(r.link).toBe(7);
    expect(r.chip).toEqual(['7']);
    expect(r.heat).toEqual([7]);
    expect(r.map).toBe('7');
    expect(r.grid).toBe('block');
    expect(r.paths).toContain('token 7');
    expect(r.load).toBe(6);
    // Hovering a heatmap row moves the strip's highlight the other way.
    await page.hover('.mx-router-heatmap g.mx-row:nth-of-type(13) rect.mx-cell');
    const back = await page.evaluate(() => [...window.views.strip.querySelectorAll('span.mx-chip.mx-hover')].map((c: any) => c.dataset.position));
    expect(back).toEqual([String(await page.evaluate(() => window.views.link.get()))]);
    expect(back).not.toEqual(['7']);
    await page.mouse.move(1390, 990);
    expect(await page.evaluate(() => window.views.link.get())).toBe(null);
  });

  it('token text is shown as text: HTML from the model creates no element, in chips, labels and tooltips', async () => {
    await fresh();
    await page.evaluate(() => {
      const v = window.viz, f = v.fixtures;
      const data = f.makeRouting(45), att = f.makeAttention(45);
      const root = document.getElementById('root')!;
      root.append(v.createTokenStrip(data, {}), v.createRouterHeatmap(data, {}), v.createAttentionMap(att, { maxSize: 600 }), v.createNextToken(f.makeNextToken(44), {}));
    });
    const xss = await page.evaluate(() => window.viz.fixtures.XSS_TEXT);
    const pos = await page.evaluate((t) => window.viz.fixtures.makeTokens(45).find((x: any) => x.text === t).position, xss);
    await page.hover(`span.mx-chip[data-position="${pos}"]`);
    const r = await page.evaluate((t) => ({
      imgs: document.querySelectorAll('img').length,
      chip: document.querySelector(`span.mx-chip[data-position="${document.querySelectorAll('span.mx-chip').length > 40 ? 40 : 0}"]`)!.textContent,
      tooltip: [...document.querySelectorAll('.mx-tooltip')].map((e) => e.textContent).join('|'),
      labels: [...document.querySelectorAll('svg text')].filter((e) => e.textContent!.includes('<img')).length,
      inChips: [...document.querySelectorAll('span.mx-chip')].filter((e) => e.textContent === t).length,
    }), xss);
    expect(r.imgs).toBe(0);
    expect(r.chip).toBe(xss);
    expect(r.inChips).toBe(1);
    expect(r.tooltip).toContain(xss);
    const box = (await (await page.$('.mx-token-strip'))!.boundingBox())!;
    await page.screenshot({ path: path.join(shots, 'tooltip-html-token.png'), clip: { x: box.x, y: box.y, width: box.width, height: box.height + 90 } });
    expect(r.labels).toBeGreaterThan(0);
    await page.waitForTimeout(50);
    expect(dialogs).toEqual([]);
  });

  it('copes with 0 tokens (a hint), 1 token, and 600 tokens (scrolls inside a bounded height)', async () => {
    await fresh();
    const r = await page.evaluate(() => {
      const v = window.viz, f = v.fixtures;
      const big = f.makeRouting(600), att = f.makeAttention(600, { heads: 4, kvHeads: 2 });
      const make = () => ({
        strip: v.createTokenStrip(f.sliceRouting(big, 0), { maxHeight: 300 }),
        heat: v.createRouterHeatmap(f.sliceRouting(big, 0), { maxHeight: 300 }),
        load: v.createExpertLoad(f.sliceRouting(big, 0), {}),
        paths: v.createRoutingPaths(f.sliceRouting(big, 0), {}),
        map: v.createAttentionMap(f.sliceAttention(att, 0), {}),
        grid: v.createAttentionGrid(f.sliceAttention(att, 0), {}),
        next: v.createNextToken({ position: 0, candidates: [] }, {}),
      });
      const views = make();
      const root = document.getElementById('root')!;
      root.append(...Object.values(views) as HTMLElement[]);
      const hintShown = (el: HTMLElement) => getComputedStyle(el.querySelector('.mx-hint')!).display !== 'none' && el.querySelector('.mx-hint')!.textContent!.length > 10;
      const empty = Object.fromEntries(Object.entries(views).map(([k, el]) => [k, hintShown(el as HTMLElement)]));
      const emptyRows = Object.fromEntries(Object.entries(views).map(([k, el]: [string, any]) => [k, el.rows().length]));
      const routing = ['strip', 'heat', 'load', 'paths'] as const;
      for (const k of routing) (views as any)[k].update(f.sliceRouting(big, 1));
      views.map.update(f.sliceAttention(att, 1)); views.grid.update(f.sliceAttention(att, 1)); views.next.update(f.makeNextToken(0));
      const one = {
        hints: Object.values(views).filter((el) => hintShown(el as HTMLElement)).length,
        chips: views.strip.querySelectorAll('span.mx-chip').length,
        cells: views.heat.querySelectorAll('rect.mx-cell').length,
        edge: views.map.querySelectorAll('path.mx-window-edge').length,
      };
      const t0 = performance.now();
      for (const k of routing) (views as any)[k].update(big);
      views.map.update(att); views.grid.update(att);
      const ms = performance.now() - t0;
      // One more token on top of 599: the steady-state cost of streaming, per view.
      const step: Record<string, number> = {};
      const prev = { r: f.sliceRouting(big, 599), a: f.sliceAttention(att, 599) };
      for (const k of routing) { (views as any)[k].update(prev.r); const t = performance.now(); (views as any)[k].update(big); step[k] = performance.now() - t; }
      for (const k of ['map', 'grid'] as const) { views[k].update(prev.a); const t = performance.now(); views[k].update(att); step[k] = performance.now() - t; }
      const body = (el: HTMLElement) => el.querySelector('.mx-body') as HTMLElement;
      return {
        empty, emptyRows, one, ms, step,
        chips: views.strip.querySelectorAll('span.mx-chip').length,
        stripScroll: [body(views.strip).clientHeight, body(views.strip).scrollHeight],
        heatScroll: [body(views.heat).clientHeight, body(views.heat).scrollHeight],
        widths: Object.values(views).map((el) => (el as HTMLElement).getBoundingClientRect().width),
        edge: views.map.querySelectorAll('path.mx-window-edge').length,
      };
    });
    expect(r.empty).toEqual({ strip: true, heat: true, load: true, paths: true, map: true, grid: true, next: true });
    expect(r.emptyRows).toEqual({ strip: 0, heat: 0, load: 0, paths: 0, map: 0, grid: 0, next: 0 });
    expect(r.one).toEqual({ hints: 0, chips: 1, cells: 8, edge: 0 });
    expect(r.chips).toBe(600);
    expect(r.stripScroll[0]).toBeLessThanOrEqual(300);
    expect(r.stripScroll[1]).toBeGreaterThan(r.stripScroll[0]);
    expect(r.heatScroll[0]).toBeLessThanOrEqual(300);
    expect(r.heatScroll[1]).toBeGreaterThan(r.heatScroll[0]);
    expect(Math.max(...r.widths)).toBeLessThanOrEqual(640);
    expect(r.edge).toBe(1);
    console.log(`[viz] 1 -> 600 tokens, six views: ${r.ms.toFixed(0)} ms; 599 -> 600 per view (ms): ${JSON.stringify(Object.fromEntries(Object.entries(r.step).map(([k, v]) => [k, Math.round(v)])))}`);
  });

  it('options: update(data, {layer}) recolours in place, and every view fits a narrow width', async () => {
    await fresh();
    const r = await page.evaluate(() => {
      const v = window.viz, f = v.fixtures, data = f.makeRouting(40), att = f.makeAttention(40);
      const strip = v.createTokenStrip(data, { layer: 0 });
      const heat = v.createRouterHeatmap(data, { layer: 0 });
      document.getElementById('root')!.append(strip, heat);
      const chips = [...strip.querySelectorAll('span.mx-chip')];
      strip.update(data, { layer: 4 });
      heat.update(data, { layer: 4 });
      const recoloured = [...strip.querySelectorAll('span.mx-chip')].every((c: any, t) => c === chips[t] && +c.dataset.expert === data.layers[4].indices[t * 2]);
      const heatOk = [...heat.querySelectorAll('g.mx-row')].every((g, t) => g.querySelector('circle.mx-choice[data-rank="0"]')!.getAttribute('data-expert') === String(data.layers[4].indices[t * 2]));
      const narrow = [
        v.createTokenStrip(data, { width: 360 }), v.createRouterHeatmap(data, { width: 360 }), v.createExpertLoad(data, { width: 360 }),
        v.createRoutingPaths(data, { width: 360 }), v.createAttentionMap(att, { width: 360 }), v.createAttentionGrid(att, { width: 360 }),
        v.createNextToken(f.makeNextToken(39), { width: 360 }),
      ];
      const box = document.createElement('div');
      document.getElementById('root')!.append(box);
      box.append(...narrow);
      const widest = narrow.map((el) => Math.max(el.getBoundingClientRect().width, ...[...el.querySelectorAll('svg, canvas, .mx-kv-group, .mx-chip')].map((x) => x.getBoundingClientRect().right - el.getBoundingClientRect().left)));
      return { recoloured, heatOk, widest, note: strip.querySelector('.mx-legend-note')!.textContent };
    });
    expect(r.recoloured).toBe(true);
    expect(r.heatOk).toBe(true);
    expect(r.note).toContain('layer 4');
    for (const w of r.widest) expect(w).toBeLessThanOrEqual(361);
  });

  it('export: toolbar on every view; CSV download quotes token text; SVG is a standalone document; PNG rasterises', async () => {
    await fresh();
    await page.evaluate(() => {
      const v = window.viz, f = v.fixtures, data = f.makeRouting(45), att = f.makeAttention(45);
      window.views = { strip: v.createTokenStrip(data, {}), heat: v.createRouterHeatmap(data, {}), map: v.createAttentionMap(att, {}), grid: v.createAttentionGrid(att, {}), paths: v.createRoutingPaths(data, {}), load: v.createExpertLoad(data, {}), next: v.createNextToken(f.makeNextToken(44), {}) };
      document.getElementById('root')!.append(...Object.values(window.views) as HTMLElement[]);
    });
    const toolbars = await page.evaluate(() => [...document.querySelectorAll('.mx-toolbar')].map((t) => [...t.querySelectorAll('button')].map((b) => b.textContent).join()));
    expect(toolbars).toHaveLength(7);
    expect(new Set(toolbars)).toEqual(new Set(['SVG,PNG,CSV,JSON']));

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('.mx-token-strip button[data-export="csv"]')]);
    expect(download.suggestedFilename()).toBe('token-strip.csv');
    const csv = readFileSync((await download.path())!, 'utf8');
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('position,id,text,piece,generated,layer,expert1,weight1,expert2,weight2');
    expect(lines).toHaveLength(45 + 2);
    expect(csv).toContain('" ""quoted"","');
    expect(lines[6]).toMatch(/^5,\d+,"\n/);

    const [json] = await Promise.all([page.waitForEvent('download'), page.click('.mx-expert-load button[data-export="json"]')]);
    expect(JSON.parse(readFileSync((await json.path())!, 'utf8'))).toHaveLength(6 * 8);

    const r = await page.evaluate(async () => {
      const v = window.viz;
      const svgs: Record<string, string> = {};
      for (const k of ['heat', 'strip', 'map', 'grid', 'paths', 'load', 'next']) {
        const el = window.views[k] as HTMLElement;
        const svg = k === 'strip' || k === 'grid' || k === 'map' ? null : el.querySelector('svg');
        svgs[k] = svg ? v.svgToString(svg) : '';
      }
      const doc = new DOMParser().parseFromString(svgs.heat, 'image/svg+xml');
      const png = await v.svgToPngBlob(svgs.heat, 300, 200, 1);
      return { parsed: doc.documentElement.nodeName, err: doc.querySelector('parsererror') !== null, ns: doc.documentElement.getAttribute('xmlns'), pngType: png.type, pngSize: png.size };
    });
    expect(r.parsed).toBe('svg');
    expect(r.err).toBe(false);
    expect(r.ns).toBe('http://www.w3.org/2000/svg');
    expect(r.pngType).toBe('image/png');
    expect(r.pngSize).toBeGreaterThan(500);

    // SVG and PNG buttons of the HTML/canvas views build their SVG on the fly; each must download.
    for (const name of ['token-strip', 'attention-map', 'attention-grid', 'routing-paths']) {
      const [svg] = await Promise.all([page.waitForEvent('download'), page.click(`.mx-${name} button[data-export="svg"]`)]);
      const text = readFileSync((await svg.path())!, 'utf8');
      expect(text.startsWith('<svg')).toBe(true);
      expect(text.length).toBeGreaterThan(500);
      const [png] = await Promise.all([page.waitForEvent('download'), page.click(`.mx-${name} button[data-export="png"]`)]);
      expect(readFileSync((await png.path())!).subarray(1, 4).toString()).toBe('PNG');
      await png.saveAs(path.join(shots, `export-${name}.png`));
    }
  });

  it('screenshots: all six views at 40 tokens, at 600 tokens, and the empty state', async () => {
    for (const [file, T] of [['all-views-40.png', 40], ['all-views-600.png', 600], ['all-views-empty.png', 0]] as const) {
      await fresh();
      await page.evaluate((T) => {
        const v = window.viz, f = v.fixtures;
        const link = v.createHoverLink();
        const data = f.makeRouting(T), att = f.makeAttention(T);
        const root = document.getElementById('root')!;
        root.style.cssText = 'display:grid;grid-template-columns:640px 640px;gap:28px 40px;align-items:start';
        root.append(
          v.createTokenStrip(data, { link, layer: 2, title: 'Token strip · layer 2' }),
          v.createRouterHeatmap(data, { link, layer: 2, maxHeight: 330 }),
          v.createExpertLoad(data, { link }),
          v.createRoutingPaths(data, { link, mode: T > 100 ? 'aggregate' : 'token', token: 12 }),
          v.createAttentionMap(att, { link, head: 4, maxSize: 420 }),
          v.createAttentionGrid(att, { link, head: 4 }),
          v.createNextToken(T ? f.makeNextToken(T - 1) : { position: 0, candidates: [] }, {}),
        );
        if (T) link.set(12);
      }, T);
      await page.screenshot({ path: path.join(shots, file), fullPage: true });
      // Each view on its own too, at full resolution, to check labels and text up close.
      if (T === 40) for (const el of await page.$$('.mx-view')) {
        const name = await el.evaluate((e) => [...e.classList].find((c) => c !== 'mx-view')!.slice(3));
        await el.screenshot({ path: path.join(shots, `${name}-40.png`) });
      }
    }
  });

  it('logs no console errors', () => {
    expect(errors).toEqual([]);
  });
});

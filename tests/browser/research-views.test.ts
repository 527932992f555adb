// The research views in headless Chromium on synthetic data (8 experts top-2, and 64 experts
// top-8): what each draws, that every view that shows an expert opens its dashboard, that the lens
// grows by columns, export, and screenshots (test-results/viz/research-*.png).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { launchChromium, watchErrors } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { bundleForBrowser } from './bundle.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const shots = path.join(here, '../../test-results/viz');
const PAGE = '<!doctype html><meta charset="utf-8"><title>research views</title><body style="margin:16px;background:#fff"><div id="root"></div>'
  + '<script type="module">import * as m from "./viz.js"; window.viz = m;</script>';

declare global { interface Window { viz: any; picks: any[] } }

const VIEWS = ['expert-dashboard', 'coactivation', 'transitions', 'lens-grid', 'routing-diff', 'patch-heatmap'];

describe('research views in headless Chromium', () => {
  let browser: Browser, server: StaticServer, page: Page, errors: string[];
  beforeAll(async () => {
    const dir = await bundleForBrowser(path.join(here, 'research-viz-entry.ts'), 'viz');
    server = await serveDirectory(dir, { '/': PAGE });
    browser = await launchChromium({ webgpu: false });
    page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    errors = watchErrors(page);
    mkdirSync(shots, { recursive: true });
  }, 180_000);
  afterAll(async () => { await browser?.close(); await server?.close(); });
  const fresh = async () => {
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => window.viz !== undefined);
  };

  /** Mount every research view on routing of E experts, top-K; returns what each drew. */
  const mountAll = (E: number, K: number) => page.evaluate(({ E, K }) => {
    const v = window.viz, r = v.research;
    const routing = r.makeRouting(48, { experts: E, topK: K, layers: 6 });
    const other = r.makeRouting(48, { experts: E, topK: K, layers: 6, seed: 9 });
    other.layers.slice(0, 2).forEach((L: any, l: number) => { other.layers[l] = routing.layers[l]; }); // the first two layers agree
    const root = document.getElementById('root')!;
    root.replaceChildren();
    const structure = r.makeStructure(routing);
    const views = [
      v.createExpertDashboard(r.makeExperts(routing), { layer: 2, expert: 1, width: 900 }),
      v.createCoactivation(structure, { layer: 1, width: 600 }),
      v.createCoactivation(structure, { layer: 1, width: 600, normalize: 'lift', title: 'Co-activation, lift' }),
      v.createTransitions(structure, { width: 1100 }),
      v.createLensGrid(r.makeLens(routing, 14), { width: 1100, experts: true, selected: { layer: 3, position: 5 } }),
      v.createRoutingDiff(r.makeDiff(routing, other), { width: 1100 }),
      v.createPatchHeatmap(r.makePatch(12, 6), { width: 900 }),
    ];
    views.forEach((view: HTMLElement) => { view.style.marginBottom = '24px'; root.append(view); });
    return views.map((view: any) => ({
      name: view.className.replace('mx-view mx-', ''),
      buttons: [...view.querySelectorAll('.mx-toolbar button')].map((b: any) => b.dataset.export),
      rows: view.rows().length,
      svg: !!view.querySelector('svg'),
      hint: !view.querySelector('.mx-hint')!.classList.contains('mx-hidden'),
    }));
  }, { E, K });

  it.each([[8, 2], [64, 8]])('every research view draws %i experts, top-%i, with its export buttons, and a screenshot', async (E, K) => {
    await fresh();
    const drawn = await mountAll(E, K);
    expect(drawn.map((d) => d.name)).toEqual(['expert-dashboard', 'coactivation', 'coactivation', 'transitions', 'lens-grid', 'routing-diff', 'patch-heatmap']);
    for (const d of drawn) {
      expect(d.buttons, d.name).toEqual(['svg', 'png', 'csv', 'json']);
      expect(d.rows, d.name).toBeGreaterThan(0);
      expect(d.svg, d.name).toBe(true);
      expect(d.hint, d.name).toBe(false);
    }
    const counts = await page.evaluate(() => ({
      chips: document.querySelectorAll('.mx-expert-dashboard .mx-dash-chip').length,
      matrices: document.querySelectorAll('.mx-transitions image.mx-matrix').length,
      lensCols: document.querySelectorAll('.mx-lens-grid g.mx-lens-col').length,
      detail: document.querySelectorAll('.mx-lens-grid .mx-lens-block').length,
      patchCells: document.querySelectorAll('.mx-patch-heatmap g.mx-patch-cell').length,
      changedEarly: document.querySelectorAll('.mx-routing-diff rect.mx-diff-cell[data-layer="0"][data-changed="1"]').length,
      changedLate: document.querySelectorAll('.mx-routing-diff rect.mx-diff-cell[data-layer="5"][data-changed="1"]').length,
      widest: Math.max(...[...document.querySelectorAll('.mx-view')].map((v) => v.getBoundingClientRect().width)),
    }));
    expect(counts.chips).toBe(E);
    expect(counts.matrices).toBe(5);
    expect(counts.lensCols).toBe(14);
    expect(counts.detail).toBe(1 + K);
    expect(counts.patchCells).toBe(12 * 6);
    expect(counts.changedEarly).toBe(0);
    expect(counts.changedLate).toBeGreaterThan(0);
    expect(counts.widest).toBeLessThanOrEqual(1100);
    for (const name of VIEWS) {
      const el = await page.$(`.mx-${name}`);
      await el!.screenshot({ path: path.join(shots, `research-${name}-e${E}.png`) });
    }
    expect(errors).toEqual([]);
  });

  it('every view that shows an expert opens its dashboard: a chip, a heatmap cell, a load bar, a routing node, a matrix label', async () => {
    await fresh();
    const picks = await page.evaluate(() => {
      const v = window.viz, r = v.research;
      const routing = r.makeRouting(30, { experts: 8, topK: 2, layers: 6 });
      const root = document.getElementById('root')!;
      const dashboard = v.createExpertDashboard(r.makeExperts(routing), { width: 800 });
      window.picks = [];
      const onExpert = (p: any) => { window.picks.push(p); dashboard.update(r.makeExperts(routing), { layer: p.layer ?? 0, expert: p.expert }); };
      const views = [
        v.createTokenStrip(routing, { layer: 3, onExpert }),
        v.createRouterHeatmap(routing, { layer: 4, onExpert }),
        v.createExpertLoad(routing, { onExpert }),
        v.createRoutingPaths(routing, { onExpert, mode: 'aggregate', colorBy: 'transition' }),
        v.createCoactivation(r.makeStructure(routing), { layer: 2, onExpert }),
      ];
      root.append(...views, dashboard);
      const events: any[] = [];
      document.addEventListener('mx-expert', (e: any) => events.push(e.detail));
      const click = (el: Element | null) => el!.dispatchEvent(new MouseEvent('click', { bubbles: true }));
      click(views[0].querySelector('.mx-chip[data-expert]'));
      const chipExpert = Number(views[0].querySelector('.mx-chip[data-expert]')!.getAttribute('data-expert'));
      click(views[1].querySelector('rect.mx-cell[data-expert="6"]'));
      click(views[2].querySelector('rect.mx-bar[data-layer="5"][data-expert="3"]'));
      click(views[3].querySelector('rect.mx-node[data-layer="1"][data-expert="2"]'));
      click(views[4].querySelector('g.mx-matrix-row[data-expert="5"]'));
      const head = dashboard.querySelector('.mx-dash-head')!.textContent;
      // The dashboard's own navigator moves it too.
      click(dashboard.querySelector('.mx-dash-chip[data-expert="7"]'));
      return { picks: window.picks, chipExpert, events: events.length, head, after: dashboard.querySelector('.mx-dash-head')!.textContent, ribbons: views[3].querySelectorAll('path.mx-ribbon').length };
    });
    expect(picks.picks).toEqual([
      { layer: 3, expert: picks.chipExpert }, { layer: 4, expert: 6 }, { layer: 5, expert: 3 }, { layer: 1, expert: 2 }, { layer: 2, expert: 5 },
    ]);
    // Every pick is also an event on the page, the dashboard's own navigation included.
    expect(picks.events).toBe(6);
    expect(picks.head).toMatch(/^Layer 2 · expert E5/);
    expect(picks.after).toMatch(/^Layer 2 · expert E7/);
    expect(picks.ribbons).toBeGreaterThan(0);
    await (await page.$('.mx-routing-paths'))!.screenshot({ path: path.join(shots, 'research-routing-paths-transition.png') });
  });

  it('routing paths colour their nodes by co-activation with the followed token\'s first choice', async () => {
    await fresh();
    const r = await page.evaluate(() => {
      const v = window.viz, f = v.research, K = 2, E = 8, T = 30, followed = 10;
      const routing = f.makeRouting(T, { experts: E, topK: K, layers: 4 });
      const view = v.createRoutingPaths(routing, { colorBy: 'coactivation', token: followed, width: 900 });
      document.getElementById('root')!.append(view);
      const nodes = [...view.querySelectorAll('rect.mx-node')].map((n: any) => ({ layer: Number(n.dataset.layer), expert: Number(n.dataset.expert), p: Number(n.getAttribute('data-coactivation')), fill: n.getAttribute('fill') }));
      // By the definition: among tokens whose top-k set holds the followed token's first choice, the share holding e.
      const want = routing.layers.map((L: any) => {
        const first = L.indices[followed * K];
        const sets = Array.from({ length: T }, (_, t) => [L.indices[t * K], L.indices[t * K + 1]]).filter((set) => set.includes(first));
        return Array.from({ length: E }, (_, e) => sets.filter((set) => set.includes(e)).length / sets.length);
      });
      const firsts = routing.layers.map((L: any) => L.indices[followed * K]);
      return { nodes, want, firsts, note: view.querySelector('.mx-legend')!.textContent };
    });
    expect(r.nodes).toHaveLength(4 * 8);
    for (const n of r.nodes) expect(n.p, `layer ${n.layer} E${n.expert}`).toBeCloseTo(r.want[n.layer][n.expert], 12);
    r.firsts.forEach((e: number, l: number) => expect(r.nodes.find((n) => n.layer === l && n.expert === e)!.p).toBe(1));
    expect(new Set(r.nodes.map((n) => n.fill)).size).toBeGreaterThan(2);
    expect(r.note).toContain('chosen together with the followed token\'s first choice');
    await (await page.$('.mx-routing-paths'))!.screenshot({ path: path.join(shots, 'research-routing-paths-coactivation.png') });
  });

  it('the lens grid grows by the new positions only, and a click opens a cell\'s full lens', async () => {
    await fresh();
    const r = await page.evaluate(() => {
      const v = window.viz, f = v.research;
      const routing = f.makeRouting(20, { experts: 8, topK: 2, layers: 4 });
      const full = f.makeLens(routing, 20);
      const part = { tokens: full.tokens.slice(0, 19), layers: full.layers.map((L: any) => ({ resid: L.resid.slice(0, 19), experts: L.experts.slice(0, 19) })) };
      const view = v.createLensGrid(part, { width: 900 });
      document.getElementById('root')!.append(view);
      const before = [...view.querySelectorAll('g.mx-lens-col')];
      const text = before[3].querySelector('text')!;
      view.update(full);
      const after = [...view.querySelectorAll('g.mx-lens-col')];
      const kept = before.every((el, i) => after[i] === el) && after[3].querySelector('text') === text;
      after[7].querySelector('g.mx-lens-cell')!.dispatchEvent(new MouseEvent('click', { bubbles: true }));
      const blocks = [...view.querySelectorAll('.mx-lens-block')].map((b) => b.querySelector('.mx-lens-block-title')!.textContent);
      return { before: before.length, after: after.length, kept, blocks, rows: view.rows().length };
    });
    expect(r.before).toBe(19);
    expect(r.after).toBe(20);
    expect(r.kept).toBe(true);
    expect(r.blocks[0]).toBe('layer 0, position 7: residual stream');
    expect(r.blocks).toHaveLength(3);
    expect(r.rows).toBe(4 * 20 * (5 + 2 * 5));
  });

  it('export: each research view downloads SVG, PNG, CSV and JSON; the context marks agree with the engine\'s', async () => {
    await fresh();
    await mountAll(8, 2);
    for (const name of VIEWS) {
      for (const kind of ['svg', 'png', 'csv', 'json']) {
        // Chromium (156) drops one download in eleven started back to back, as a person never
        // clicks; 100 ms apart none is dropped (measured), so the clicks come 250 ms apart.
        await page.waitForTimeout(250);
        // A PNG is rasterised in the page: on two loaded cores (CI) that has taken over Playwright's default 30 s.
        const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.click(`.mx-${name} button[data-export="${kind}"]`)]);
        expect(download.suggestedFilename()).toBe(`${name}.${kind}`);
      }
    }
    const marks = await page.evaluate(() => [window.viz.CONTEXT_MARKS, [window.viz.CONTEXT_OPEN, window.viz.CONTEXT_CLOSE]]);
    expect(marks[0]).toEqual(marks[1]);
  }, 300_000);
});

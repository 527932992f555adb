// The routing views at 8, 64 and 128 experts (top-2, top-8, top-8) in headless Chromium on
// synthetic routing: past 32 experts only the most used experts (over all layers) get colours and the
// legend names those, the expert-load bars sort by load, and 8 experts look as they always did.
// Screenshots: test-results/viz/many-experts-e{8,64,128}.png.
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
const PAGE = '<!doctype html><meta charset="utf-8"><title>viz</title><body style="margin:16px;background:#fff"><div id="root"></div>'
  + '<script type="module">import * as m from "./viz.js"; window.viz = m;</script>';

declare global { interface Window { viz: any } }

describe('routing views with many experts', () => {
  let browser: Browser, server: StaticServer, page: Page, errors: string[];

  beforeAll(async () => {
    const dir = await bundleForBrowser(path.join(here, 'viz-entry.ts'), 'viz');
    server = await serveDirectory(dir, { '/': PAGE });
    browser = await launchChromium({ webgpu: false });
    page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
    errors = watchErrors(page);
    mkdirSync(shots, { recursive: true });
  }, 180_000);
  afterAll(async () => { await browser?.close(); await server?.close(); });

  for (const [E, K] of [[8, 2], [64, 8], [128, 8]] as const) {
    it(`E = ${E}, top-${K}: token strip, router heatmap, expert load and routing paths stay readable`, async () => {
      await page.goto(`${server.url}/`);
      await page.waitForFunction(() => window.viz !== undefined);
      const r = await page.evaluate(([E, K]) => {
        const { fixtures, createTokenStrip, createRouterHeatmap, createExpertLoad, createRoutingPaths, expertColor, expertPaint, d3color, OKABE_ITO } = window.viz;
        const data = fixtures.makeRouting(48, { experts: E, topK: K, layers: 4, seed: 3 });
        const root = document.getElementById('root')!;
        const width = 1060;
        const views = [
          createTokenStrip(data, { layer: 1, width }),
          createRouterHeatmap(data, { layer: 1, width, maxHeight: 260 }),
          createExpertLoad(data, { width, count: 'topk' }),
          createRoutingPaths(data, { width, height: 300, token: 5 }),
          createRoutingPaths(data, { width, height: 300, mode: 'aggregate', title: 'Routing paths (all tokens)' }),
        ];
        views.forEach((v: HTMLElement) => root.append(v));
        const rgb = (c: string) => d3color(c).toString();
        const strip = views[0] as HTMLElement;
        const chips = [...strip.querySelectorAll('span.mx-chip')] as HTMLElement[];
        const paint = expertPaint(data, null);
        const L = data.layers[1];
        return {
          chips: chips.length,
          chipColours: chips.every((c, t) => getComputedStyle(c).backgroundColor === rgb(paint.color(L.indices[t * K]))),
          eightLook: E === 8 ? chips.every((c, t) => getComputedStyle(c).backgroundColor === rgb(expertColor(L.indices[t * K], 8))) : null,
          distinct: new Set(chips.map((c) => getComputedStyle(c).backgroundColor)).size,
          focusColours: paint.focus.map((e: number) => paint.color(e)),
          okabe: [...OKABE_ITO],
          legendItems: strip.querySelectorAll('.mx-legend-item').length,
          legendLast: [...strip.querySelectorAll('.mx-legend-item .mx-legend-label')].at(-1)?.textContent,
          cells: views[1].querySelectorAll('rect.mx-cell').length,
          bars: views[2].querySelectorAll('rect.mx-bar').length,
          barLeft: (() => {
            // First panel: the leftmost bar is the most used expert when sorted by load.
            const panel = views[2].querySelector('g.mx-panel')!;
            const bars = [...panel.querySelectorAll('rect.mx-bar')] as SVGRectElement[];
            const leftmost = bars.reduce((a, b) => (Number(a.getAttribute('x')) <= Number(b.getAttribute('x')) ? a : b));
            return { leftmost: Number(leftmost.dataset.count), max: Math.max(...bars.map((b) => Number(b.dataset.count))) };
          })(),
          nodes: views[3].querySelectorAll('rect.mx-node').length,
        };
      }, [E, K]);
      expect(r.chips).toBe(48);
      expect(r.chipColours).toBe(true);
      if (E === 8) {
        expect(r.eightLook).toBe(true);
        expect(r.legendItems).toBe(8);
      } else {
        // At most 7 colours and grey name the first choices, and the legend has 7 experts + "other".
        expect(r.distinct).toBeLessThanOrEqual(8);
        expect(r.focusColours).toEqual(r.okabe.slice(0, 7));
        expect(r.legendItems).toBe(8);
        expect(r.legendLast).toBe(`other ${E - 7} of ${E} experts`);
        expect(r.barLeft.leftmost).toBe(r.barLeft.max);
      }
      expect(r.cells).toBe(48 * E);
      expect(r.bars).toBe(4 * E);
      expect(r.nodes).toBe(4 * E);
      await page.waitForTimeout(200);
      await page.screenshot({ path: path.join(shots, `many-experts-e${E}.png`), fullPage: true });
      expect(errors).toEqual([]);
    }, 120_000);
  }
});

// Screenshots of the routing views and the expert dashboard at 8, 64 and 128 experts (top-2, top-8,
// top-8), on synthetic routing with a dense layer among sparse ones at 128, at a desktop width
// (1400 x 1000) and a phone's (390 x 844): for a person to look at, not a test.
// Run: npx tsx tests/browser/shots-many-experts.ts [out-dir] (default test-results/shots-many-experts).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, watchErrors } from './chromium.ts';
import { serveDirectory } from './static-server.ts';
import { bundleForBrowser } from './bundle.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] ?? path.join(here, '../../test-results/shots-many-experts'));
const PAGE = '<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>views</title>'
  + '<body style="margin:8px;background:#fff;font-family:system-ui"><div id="root"></div>'
  + '<script type="module">import * as m from "./viz.js"; window.viz = m;</script>';

declare global { interface Window { viz: any } }

const dir = await bundleForBrowser(path.join(here, 'research-viz-entry.ts'), 'viz');
const server = await serveDirectory(dir, { '/': PAGE });
const browser = await launchChromium({ webgpu: false });
mkdirSync(out, { recursive: true });
const problems: string[] = [];
for (const [W, H] of [[1400, 1000], [390, 844]] as const) {
  for (const [E, K] of [[8, 2], [64, 8], [128, 8]] as const) {
    const page = await browser.newPage({ viewport: { width: W, height: H } });
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => window.viz !== undefined);
    await page.evaluate(([E, K, W]) => {
      const { fixtures, research, createTokenStrip, createRouterHeatmap, createExpertLoad, createRoutingPaths, createExpertDashboard } = window.viz;
      const data = fixtures.makeRouting(40, { experts: E, topK: K, layers: 4, seed: 3 });
      // At 128 experts layer 2 is dense (Qwen's mlp_only_layers): no router, no experts.
      if (E === 128) data.layers[2] = { indices: new Int32Array(0), weights: new Float32Array(0), probs: new Float32Array(0), dense: true };
      const experts = research.makeExperts(data);
      if (E === 128) experts.layers[2] = null;
      const root = document.getElementById('root')!;
      const width = W - 16;
      const views = [
        createTokenStrip(data, { layer: 1, width, maxHeight: 200 }),
        ...(E === 128 ? [createTokenStrip(data, { layer: 2, width, title: 'Token strip at the dense layer 2' })] : []),
        createRouterHeatmap(data, { layer: 1, width, maxHeight: 220 }),
        createExpertLoad(data, { width, count: 'topk' }),
        createRoutingPaths(data, { width, height: 300, token: 5 }),
        createRoutingPaths(data, { width, height: 300, mode: 'aggregate', colorBy: 'transition', title: 'Routing paths (all tokens)' }),
        createExpertDashboard(experts, { layer: 1, expert: experts.layers[1].experts.reduce((a: any, b: any) => (b.topk_share > a.topk_share ? b : a)).expert, width }),
      ];
      views.forEach((v: HTMLElement) => root.append(v));
    }, [E, K, W] as const);
    await page.waitForTimeout(800);
    const file = path.join(out, `views-e${E}-${W}x${H}.png`);
    await page.screenshot({ path: file, fullPage: true });
    // Text that runs out of its view, or views wider than the page.
    const overflow = await page.evaluate(() => {
      const found: string[] = [];
      for (const v of document.querySelectorAll<HTMLElement>('.mx-view')) {
        const r = v.getBoundingClientRect();
        if (r.right > innerWidth + 1) found.push(`${v.className} is ${Math.round(r.width)} px wide`);
        for (const t of v.querySelectorAll<SVGTextElement>('svg text')) {
          const b = t.getBoundingClientRect();
          const svg = t.ownerSVGElement!.getBoundingClientRect();
          if (b.width && (b.right > svg.right + 1 || b.left < svg.left - 1)) found.push(`${v.className}: "${(t.textContent ?? '').slice(0, 40)}" runs out of its chart`);
        }
      }
      return found;
    });
    problems.push(...[...errors, ...overflow].map((p) => `E=${E} ${W}x${H}: ${p}`));
    console.log(file);
    await page.close();
  }
}
await browser.close();
await server.close();
console.log(problems.length ? problems.join('\n') : 'no overflow, no console error');

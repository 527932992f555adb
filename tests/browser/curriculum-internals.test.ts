// Three notebooks of the curriculum in the built site, in headless Chromium on WebGPU (SwiftShader,
// small inputs from the address) and with WebGPU disabled (the CPU engine): "The router, step by
// step", "Attention in Mixtral" and "What does an expert do? Interventions". Their numbers are
// read from the page and checked against the same quantities computed here, independently, with
// the CPU engine in Node on the model files the page loaded. One page per backend: the notebooks
// are opened one after the other in it, so the model loads once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy } from '../../site/api/run-trace.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { GENERATE_TIMEOUT, ROOT, SUBPATH, buildSite, open, shot, waitForRest, type OpenedPage } from './site-harness.ts';
import { loadModelDirectory } from '../../engine/node.ts';
import { layerRouting, routingHooks } from '../../engine/routing/routing.ts';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { MixscopeTokenizer } from '../../engine/tokenizer.ts';
import { generate } from '../../engine/generate.ts';
import chosenPrompts from '../../notebooks/default-prompts.json';
import type { HookTensor } from '../../engine/hooks/request.ts';
import type { Intervention } from '../../engine/hooks/interventions.ts';
import type { MixtralConfig } from '../../engine/config.ts';

type Which = 'webgpu' | 'cpu';
type Data = Record<string, string>;

const DOMAINS = ['c', 'english', 'german', 'manpages', 'math', 'python'];
const heldout = (domain: string) => readFileSync(path.join(ROOT, 'training/data/heldout', `${domain}.txt`), 'utf8');

/** The dataset of every element matching `selector`. */
const datasets = (page: Page, selector: string) => page.locator(selector).evaluateAll((els) => els.map((e) => ({ ...(e as HTMLElement).dataset }) as Data));
const value = async (page: Page, selector: string) => Number((await datasets(page, selector))[0]?.value);
/** A view's rows() (see viz/README.md). */
const viewRows = (page: Page, selector: string) => page.evaluate((s) => (document.querySelector(s) as unknown as { rows(): Data[] }).rows(), selector);

async function expectNoCellErrors(page: Page): Promise<void> {
  expect(await page.locator('.nb-notebook .nb-error').allTextContents()).toEqual([]);
}

function softmax(xs: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(xs));
  const e = Array.from(xs, (x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Mean next-token cross-entropy over a text, with the site's own per-token loss. */
function meanCrossEntropy(logits: Float32Array, ids: number[], V: number): number {
  let sum = 0;
  for (let t = 0; t + 1 < ids.length; t++) sum += crossEntropy(logits, t * V, V, ids[t + 1]!);
  return sum / (ids.length - 1);
}

describe('curriculum notebooks in headless Chromium: the router, attention, interventions', () => {
  let server: StaticServer;
  let engine: CpuEngine;
  let tokenizer: MixscopeTokenizer;
  let config: MixtralConfig;
  const browsers = new Map<Which, Browser>();
  const pages = new Map<Which, OpenedPage>();

  beforeAll(async () => {
    const www = await buildSite();
    server = await serveDirectory(www);
    // The model files the page loads, so a model retrained meanwhile cannot make the two disagree.
    const ckpt = await loadModelDirectory(path.join(www, SUBPATH, 'mixscope-tiny'));
    engine = new CpuEngine(ckpt.config, ckpt.weights);
    tokenizer = new MixscopeTokenizer(ckpt.tokenizerJson);
    config = ckpt.config;
    for (const which of ['webgpu', 'cpu'] as const) browsers.set(which, await launchChromium({ webgpu: which === 'webgpu' }));
  }, 180_000);

  afterAll(async () => {
    for (const b of browsers.values()) await b.close();
    await server?.close();
  });

  /**
   * Opens a notebook in the backend's page, made at the first call (so the other backend's
   * model does not load meanwhile); later calls change the hash and the loaded model stays.
   */
  async function openNotebook(which: Which, hash: string): Promise<Page> {
    const opened = pages.get(which);
    if (opened) await opened.page.goto(`${server.url}${SUBPATH}${which === 'webgpu' ? '?backend=webgpu' : ''}${hash}`);
    else pages.set(which, await open(browsers.get(which)!, server, hash));
    const { page } = pages.get(which)!;
    // The first notebook waits for the model: minutes on SwiftShader while other work shares the cores.
    await expect.poll(() => page.locator('.site-backend').getAttribute('data-backend'), { timeout: 2 * GENERATE_TIMEOUT }).toBe(which);
    await page.waitForSelector(`.nb-notebook[data-notebook="${hash.slice(2).split('?')[0]}"]`, { timeout: 60_000, state: 'attached' });
    return page;
  }

  function expectCleanPage(which: Which): void {
    const { errors, outside } = pages.get(which)!;
    expect(errors).toEqual([]);
    expect(outside).toEqual([]);
  }

  for (const which of ['webgpu', 'cpu'] as const) {
    // WebGPU on SwiftShader uses 16-bit weights: its numbers agree with the CPU to about 1e-3.
    const tol = which === 'cpu' ? 1e-4 : 2e-2;
    // SwiftShader shares two cores with whatever else runs: patient waits there.
    const slow = which === 'webgpu' ? 3 * GENERATE_TIMEOUT : GENERATE_TIMEOUT;

    it(`router step by step on ${which}: the five steps from the hooks, weights summing to 1, the two orders equal, the block output the weighted sum`, async () => {
      const text = which === 'webgpu' ? 'The cat sat on the mat.' : 'The little cat sat on the warm mat.';
      const layer = 2;
      const page = await openNotebook(which, `#/router-step-by-step?text=${encodeURIComponent(text)}&layer=${layer}`);
      await page.waitForSelector('.router-steps[data-step="5"]', { timeout: slow, state: 'attached' });
      await waitForRest(page, slow);
      await expectNoCellErrors(page);

      const ids = tokenizer.encode(text).ids;
      const T = ids.length, E = config.num_local_experts, K = config.num_experts_per_tok, L = config.num_hidden_layers;
      const ref = await engine.forward(ids, { hooks: ['blocks.*.moe.hook_router_logits'] });
      const logitsOf = (l: number, t: number) => (ref.hooks.get(`blocks.${l}.moe.hook_router_logits`) as HookTensor).data.subarray(t * E, (t + 1) * E);

      // The picked token defaults to the last one; five drawings, one per step.
      const steps = (await datasets(page, '.router-steps'))[0]!;
      expect(Number(steps.position)).toBe(T - 1);
      expect(Number(steps.layer)).toBe(layer);
      expect(await page.locator('.router-steps .router-step').count()).toBe(5);

      // Step 1 holds the gate logits the engine computes; steps 2 and 3 their softmax.
      const shownLogits = (await datasets(page, '.router-logits .router-bar')).map((b) => Number(b.value));
      const refLogits = Array.from(logitsOf(layer, T - 1));
      expect(shownLogits.length).toBe(E);
      shownLogits.forEach((v, e) => expect(Math.abs(v - refLogits[e]!), `logit of E${e}`).toBeLessThanOrEqual(tol * 10));
      const probs = softmax(refLogits);
      const shownProbs = (await datasets(page, '.router-probs .router-bar')).map((b) => Number(b.value));
      shownProbs.forEach((p, e) => expect(Math.abs(p - probs[e]!)).toBeLessThanOrEqual(tol));
      expect(shownProbs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);

      // Step 3 keeps the two most probable experts; step 4's renormalised weights sum to 1.
      const order = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]!), top = order.slice(0, K);
      expect(await page.locator('.router-topk .router-bar[opacity="1"]').count()).toBe(K);
      const weights = await datasets(page, '.router-weights .router-weight');
      expect(weights.length).toBe(K);
      // The same two experts as the engine here, unless the second and third are too close to call.
      if (probs[order[K - 1]!]! - probs[order[K]!]! > tol) expect(weights.map((w) => Number(w.expert))).toEqual(top);
      expect(Math.abs(weights.reduce((s, w) => s + Number(w.weight), 0) - 1)).toBeLessThan(1e-6);
      expect(Math.abs((await value(page, '.router-renormalised')) - 1)).toBeLessThan(1e-6);
      const renorm = top.map((e) => probs[e]! / top.reduce((s, f) => s + probs[f]!, 0));
      weights.forEach((w, k) => expect(Math.abs(Number(w.weight) - renorm[k]!)).toBeLessThanOrEqual(tol));

      // Step 5 and the checks: the weighted sum of the two experts is the block's output; the
      // two orders of softmax and top-k agree to rounding; the page agrees with the engine.
      const combination = (await datasets(page, '.router-combination'))[0]!;
      expect(Number(combination.maxDiff)).toBeLessThan(1e-4);
      const sumAll = await value(page, '.router-sum-check-all');
      expect(sumAll).toBeGreaterThanOrEqual(0);
      expect(sumAll).toBeLessThan(1e-4);
      const equivalence = await value(page, '.router-equivalence');
      expect(equivalence).toBeGreaterThanOrEqual(0);
      expect(equivalence).toBeLessThan(1e-12);
      expect(await value(page, '.router-engine-diff')).toBeLessThan(1e-6);
      expect(await value(page, '.router-same-experts')).toBe(T * L);
      expect(await page.locator('.router-same-experts').textContent()).toBe(`${T * L} of ${T * L}`);

      // Entropy per layer: the mean over the text's tokens, below log E, as the engine gives.
      const bars = await datasets(page, '.router-entropy-bar');
      expect(bars.length).toBe(L);
      for (let l = 0; l < L; l++) {
        let h = 0;
        for (let t = 0; t < T; t++) h -= softmax(logitsOf(l, t)).reduce((s, p) => s + (p > 0 ? p * Math.log(p) : 0), 0);
        expect(Math.abs(Number(bars[l]!.entropy) - h / T), `layer ${l}`).toBeLessThanOrEqual(tol);
        expect(Number(bars[l]!.entropy)).toBeLessThanOrEqual(Math.log(E));
      }
      expect(Number((await datasets(page, '.router-entropy'))[0]!.max)).toBeCloseTo(Math.log(E), 12);
      await shot(page, `router-step-by-step-${which}`);

      if (which === 'cpu') {
        // Pick another token: the drawing replays for it, with its logits.
        await page.getByLabel('Token', { exact: true }).selectOption({ index: 1 });
        await page.waitForSelector('.router-steps[data-position="1"][data-step="5"]', { timeout: 60_000, state: 'attached' });
        const again = (await datasets(page, '.router-logits .router-bar')).map((b) => Number(b.value));
        again.forEach((v, e) => expect(Math.abs(v - logitsOf(layer, 1)[e]!)).toBeLessThanOrEqual(tol));
        expect(page.url()).toContain('token=1');
        await expectNoCellErrors(page);
      }
      expectCleanPage(which);
    }, 25 * 60_000);

    it(`attention on ${which}: GQA shapes and KV-cache saving, RoPE frequencies and shift invariance, no attention outside the sliding window`, async () => {
      // Longer than the 128-token window, short enough for SwiftShader.
      const N = which === 'webgpu' ? 150 : 200;
      const layer = 1, head = 3;
      const page = await openNotebook(which, `#/attention?n=${N}&layer=${layer}&head=${head}`);
      await page.waitForSelector('.window-outside', { timeout: slow, state: 'attached' });
      await waitForRest(page, slow);
      await expectNoCellErrors(page);
      const H = config.num_attention_heads, Hkv = config.num_key_value_heads, Dh = config.head_dim, L = config.num_hidden_layers;
      const W = config.sliding_window!;
      expect(W).toBeLessThan(N);

      // Grouped-query attention in the hooks' shapes, and the cache it saves.
      const shapes = await datasets(page, '.attn-shapes tr[data-hook]');
      expect(shapes.map((s) => [s.hook, Number(s.heads)])).toEqual([['hook_q', H], ['hook_k', Hkv], ['hook_v', Hkv]]);
      const kv = await datasets(page, '.kv-cache tbody tr');
      expect(kv.map((r) => r.model)).toEqual(['mixscope-tiny', 'Mixtral-8x7B']);
      expect(Number(kv[0]!.gqa)).toBe(2 * L * Hkv * Dh * 2);
      expect(Number(kv[0]!.mha)).toBe(2 * L * H * Dh * 2);
      expect(Number(kv[1]!.gqa)).toBe(2 * 32 * 8 * 128 * 2);
      expect(Number(kv[1]!.mha)).toBe(2 * 32 * 32 * 128 * 2);
      for (const r of kv) expect(Number(r.saving)).toBe(Number(r.heads) / Number(r.kvHeads));
      expect(await value(page, '.kv-saving')).toBe(H / Hkv);
      expect(await value(page, '.kv-saving-8x7b')).toBe(32 / 8);
      expect(await page.locator('.kv-cache').textContent()).toContain('128.0\u00a0KiB');

      // RoPE: one frequency per pair of dimensions, the first a radian per token; rotating q and
      // k together leaves their score as the hooks give it.
      const series = await datasets(page, '.rope-series');
      expect(series.map((s) => Number(s.pairs))).toEqual([Dh / 2, 64]);
      for (const s of series) expect(Number(s.first)).toBeCloseTo(2 * Math.PI, 12);
      expect(Number(series[0]!.last)).toBeCloseTo(2 * Math.PI * Math.pow(config.rope_theta, (Dh - 2) / Dh), 3);
      expect(await value(page, '.rope-max-diff')).toBeLessThan(1e-9);

      // The sliding window: the map's rows for a query past the window cover exactly the last W
      // keys and sum to 1, so nothing is left for keys outside it.
      const rows = await viewRows(page, '.mx-attention-map');
      expect(new Set(rows.map((r) => Number(r.head)))).toEqual(new Set([head]));
      expect(new Set(rows.map((r) => Number(r.query))).size).toBe(N);
      for (const q of [W, W + 7, N - 1]) {
        const row = rows.filter((r) => Number(r.query) === q);
        expect(row.length).toBe(W);
        expect(Math.min(...row.map((r) => Number(r.key)))).toBe(q - W + 1);
        expect(Math.abs(row.reduce((s, r) => s + Number(r.prob), 0) - 1)).toBeLessThan(1e-5);
      }
      expect(await value(page, '.window-outside')).toBe(0);
      expect(await value(page, '.window-row-error')).toBeLessThan(1e-5);
      expect(Number((await datasets(page, '.attn-distance'))[0]!.beyond)).toBe(0);
      expect(await page.locator('.mx-attention-map path.mx-window-edge').count()).toBe(1);

      // The same pattern from the CPU engine in Node, where keys outside the window get exactly 0.
      const ids = tokenizer.encode(heldout('english')).ids.slice(0, N);
      const ref = await engine.forward(ids, { hooks: [`blocks.${layer}.attn.hook_pattern`] });
      const pattern = (ref.hooks.get(`blocks.${layer}.attn.hook_pattern`) as HookTensor).data;
      let worst = 0;
      for (const r of rows) worst = Math.max(worst, Math.abs(Number(r.prob) - pattern[(head * N + Number(r.query)) * N + Number(r.key)]!));
      expect(worst).toBeLessThanOrEqual(which === 'cpu' ? 1e-5 : 1e-2);
      for (let k = 0; k <= N - 1 - W; k++) expect(pattern[(head * N + N - 1) * N + k]).toBe(0);
      await shot(page, `attention-${which}`);

      if (which === 'cpu') {
        // A click on a head in the grid shows it in the map and keeps it in the address.
        await page.locator('.mx-attention-grid .mx-head-cell').nth(6).click();
        await expect.poll(async () => new Set((await viewRows(page, '.mx-attention-map')).map((r) => Number(r.head))), { timeout: 30_000 }).toEqual(new Set([6]));
        expect(page.url()).toContain('head=6');
        await expectNoCellErrors(page);
      }
      expectCleanPage(which);
    }, 25 * 60_000);

    it(`interventions on ${which}: ablation changes the held-out loss as the engine does, ablated experts are never chosen, generations side by side, a ranking per expert`, async () => {
      // SwiftShader, where every run of the model costs seconds however short: 4 tokens of two
      // domains (one code, arithmetic) and 2 generated tokens. The CPU: the notebook's defaults.
      const n = which === 'webgpu' ? 4 : 64, gen = which === 'webgpu' ? 2 : 32;
      const domains = which === 'webgpu' ? ['math', 'python'] : DOMAINS;
      const rankDomains = ['python', 'c', 'math'].filter((d) => domains.includes(d));
      const layer = 0, rankLayer = 0;
      const samples = new Map(domains.map((d) => [d, tokenizer.encode(heldout(d)).ids.slice(0, n)]));
      const V = config.vocab_size, E = config.num_local_experts;
      // Ablate the expert these samples send most first choices to in the layer, so the change
      // is certain to touch them; force it together with the next expert.
      const firsts = new Array<number>(E).fill(0);
      for (const ids of samples.values()) {
        const choice = layerRouting(config, (await engine.forward(ids, { hooks: routingHooks() })).hooks)[layer];
        for (let t = 0; t < ids.length; t++) firsts[choice.indices[t * config.num_experts_per_tok]!]!++;
      }
      const ablated = firsts.indexOf(Math.max(...firsts)), partner = (ablated + 1) % E;
      const pair = [ablated, partner].sort((a, b) => a - b);
      const page = await openNotebook(which, `#/interventions?kind=ablate&layer=${layer}&experts=${ablated}&ranklayer=${rankLayer}`
        + (which === 'webgpu' ? `&n=${n}&gen=${gen}&domains=${domains.join(',')}` : ''));
      await page.waitForSelector('.iv-loss[data-ready="true"]', { timeout: slow, state: 'attached' });
      await page.waitForSelector('.iv-ranking[data-done="true"]', { timeout: slow, state: 'attached' });
      await page.waitForSelector('.iv-generation.iv-plain[data-done="true"]', { timeout: slow, state: 'attached' });
      await page.waitForSelector('.iv-generation.iv-changed[data-done="true"]', { timeout: slow, state: 'attached' });
      await waitForRest(page, slow);
      await expectNoCellErrors(page);
      expect((await datasets(page, '.iv-plan'))[0]).toMatchObject({ ok: 'true', kind: 'ablate', layer: String(layer), experts: String(ablated) });

      const lossOf = async (ids: number[], interventions: Intervention[] = []) => meanCrossEntropy((await engine.forward(ids, { output: 'all', interventions })).logits, ids, V);
      const ablate: Intervention[] = [{ kind: 'ablate_experts', layer, experts: [ablated] }];

      // Held-out loss per domain, left alone and ablated, as the engine gives it; ablation changes it.
      const loss = await datasets(page, '.iv-domain');
      expect(loss.map((r) => r.domain)).toEqual(domains);
      const baseline = new Map<string, number>();
      for (const r of loss) {
        const ids = samples.get(r.domain!)!;
        baseline.set(r.domain!, await lossOf(ids));
        expect(Math.abs(Number(r.baseline) - baseline.get(r.domain!)!), `${r.domain} left alone`).toBeLessThanOrEqual(tol);
        expect(Math.abs(Number(r.modified) - await lossOf(ids, ablate)), `${r.domain} ablated`).toBeLessThanOrEqual(tol);
        expect(Number(r.delta)).toBeCloseTo(Number(r.modified) - Number(r.baseline), 12);
      }
      expect(Math.max(...loss.map((r) => Math.abs(Number(r.delta))))).toBeGreaterThan(1e-4);

      // The router never picks the ablated expert.
      const routing = (await datasets(page, '.iv-routing'))[0]!;
      expect(Number(routing.tokens)).toBe(domains.length * n);
      expect(Number(routing.ablatedPicks)).toBe(0);
      expect(await value(page, '.iv-ablated-picks')).toBe(0);
      const shares = await datasets(page, '.iv-expert');
      expect(Number(shares[ablated]!.after)).toBe(0);
      // Shares of all top-k choices: they sum to 1 over the experts.
      expect(shares.reduce((s, e) => s + Number(e.after), 0)).toBeCloseTo(1, 9);

      // Generations: greedy, the asked number of tokens; on the CPU exactly the engine's text.
      const gens = await datasets(page, '.iv-generation');
      expect(gens.map((g) => g.step)).toEqual([String(gen), String(gen)]);
      if (which === 'cpu') {
        const prompt = chosenPrompts.prompts.interventions;
        const textOf = async (interventions: Intervention[]) => {
          let text = '';
          for await (const step of generate({ engine, tokenizer, prompt }, { maxTokens: gen, temperature: 0, interventions })) text += step.text;
          return text;
        };
        expect(gens[0]!.text).toBe(await textOf([]));
        expect(gens[1]!.text).toBe(await textOf(ablate));
      }

      // The ranking: every expert of the layer ablated alone, on Python, C and arithmetic.
      const cells = await datasets(page, '.iv-rank-cell');
      expect(cells.length).toBe(E * rankDomains.length);
      expect(new Set(cells.map((c) => c.domain))).toEqual(new Set(rankDomains));
      for (const c of cells) {
        const ids = samples.get(c.domain!)!;
        const ref = await lossOf(ids, [{ kind: 'ablate_experts', layer: rankLayer, experts: [Number(c.expert)] }]) - baseline.get(c.domain!)!;
        expect(Math.abs(Number(c.delta) - ref), `E${c.expert} on ${c.domain}`).toBeLessThanOrEqual(tol);
      }
      for (const m of await datasets(page, '.iv-rank-mean')) {
        const of = (d: string) => Number(cells.find((c) => c.expert === m.expert && c.domain === d)!.delta);
        const code = ['python', 'c'].filter((d) => rankDomains.includes(d));
        expect(Number(m.delta)).toBeCloseTo(code.reduce((s, d) => s + of(d), 0) / code.length, 12);
      }
      const summary = (await datasets(page, '.iv-rank-summary'))[0]!;
      const worstFor = (domains: string[]) => [...Array(E).keys()].sort((a, b) => {
        const mean = (e: number) => domains.reduce((s, d) => s + Number(cells.find((c) => Number(c.expert) === e && c.domain === d)!.delta), 0) / domains.length;
        return mean(b) - mean(a);
      })[0];
      expect(Number(summary.code)).toBe(worstFor(['python', 'c'].filter((d) => rankDomains.includes(d))));
      expect(Number(summary.math)).toBe(worstFor(['math']));
      await shot(page, `interventions-${which}`);

      if (which === 'cpu') {
        // Force needs exactly two experts: with one ticked the page says so and runs nothing.
        await page.getByLabel('force', { exact: true }).check();
        await page.waitForSelector('.iv-plan[data-ok="false"]', { timeout: 30_000, state: 'attached' });
        // Tick a second: every token of the layer now goes to exactly the forced pair.
        await page.getByLabel(`E${partner}`, { exact: true }).check();
        await page.waitForSelector(`.iv-plan[data-kind="force"][data-experts="${pair.join(',')}"]`, { timeout: 30_000, state: 'attached' });
        await expect.poll(async () => {
          const r = (await datasets(page, '.iv-routing'))[0]!;
          return Number(r.tokens) > 0 && Number(r.forcedTokens) === Number(r.tokens);
        }, { timeout: GENERATE_TIMEOUT }).toBe(true);
        await page.waitForSelector('.iv-generation.iv-changed[data-done="true"]', { timeout: GENERATE_TIMEOUT, state: 'attached' });
        await waitForRest(page);
        expect(await value(page, '.iv-forced-tokens')).toBe(domains.length * n);
        const force: Intervention[] = [{ kind: 'force_experts', layer, experts: pair }];
        const forced = await datasets(page, '.iv-domain');
        const math = forced.find((r) => r.domain === 'math')!;
        expect(Math.abs(Number(math.modified) - await lossOf(samples.get('math')!, force))).toBeLessThanOrEqual(tol);
        const afterShares = await datasets(page, '.iv-expert');
        // Every token's K choices are the pair: each gets 1/K of them.
        for (const e of pair) expect(Number(afterShares[e]!.after)).toBe(1 / config.num_experts_per_tok);
        await shot(page, 'interventions-cpu-force');

        // A positive bias raises the biased experts' share of the routing.
        await page.getByLabel('bias', { exact: true }).check();
        await page.waitForSelector('.iv-biased-share', { timeout: GENERATE_TIMEOUT, state: 'attached' });
        await waitForRest(page);
        const biased = await datasets(page, '.iv-expert');
        // (An expert that already takes every token cannot gain: compare the pair's total.)
        const total = (key: string) => pair.reduce((sum, e) => sum + Number(biased[e]![key]), 0);
        expect(total('after')).toBeGreaterThan(total('before'));
        await expectNoCellErrors(page);
      }
      expectCleanPage(which);
    }, 25 * 60_000);
  }
});

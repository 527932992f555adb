// The site's research members on the worker's path (Node, CPU engine): the same engine functions
// as the CLI, the tokens as views show them, and the live lens of a generation.
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import type { Model } from '../../engine/model.ts';
import { countParameters } from '../../engine/params.ts';
import { MixscopeTokenizer } from '../../engine/tokenizer.ts';
import { expertReport } from '../../engine/analysis/experts.ts';
import { lensHead, logitLens } from '../../engine/lens/logit-lens.ts';
import { patchEffects } from '../../engine/patch/patching.ts';
import { llamaStyleTokenizerJson } from '../../tests/helpers/llama-style-tokenizer.ts';
import { randomWeights, tinyConfig } from '../../tests/helpers/random-model.ts';
import { generationPayloads } from './generation-payloads.ts';
import { GenerationAccumulator } from './accumulator.ts';
import { runExperts, runLens, runPatch } from './research.ts';
import { yieldingEngine } from './yielding-engine.ts';
import { compareRuns } from './compare.ts';
import { buildTrace } from './accumulator.ts';
import { runTrace } from './run-trace.ts';

const config = tinyConfig({ vocab_size: 277, max_position_embeddings: 48 });
const weights = randomWeights(config, 9);
const tokenizer = new MixscopeTokenizer(llamaStyleTokenizerJson());
const model = { config, weights, tokenizer, parameters: countParameters(config) } as unknown as Model;
const engine = new CpuEngine(config, weights);

describe('the site\'s research members', () => {
  it('experts: the engine\'s report over several texts, each text\'s own shares beside it', async () => {
    const texts = ['hello world '.repeat(12), 'world hello hello world'];
    const progress: number[] = [];
    const r = await runExperts(engine, model, texts, { top: 3, minCount: 2 }, undefined, (d) => progress.push(d));
    const ids = texts.map((t) => tokenizer.encode(t).ids);
    const direct = await expertReport(engine, ids, { top: 3, minCount: 2, tokenizer });
    expect(r).toEqual(direct);
    expect(r.documents.map((d) => d.tokens)).toEqual(ids.map((x) => x.length));
    expect(progress.length).toBeGreaterThan(0);
    const cut = await runExperts(engine, model, texts, { maxTokens: 5 });
    expect(cut.tokens).toBe(10);
  });

  it('lens: the engine\'s lens with tokens as views show them', async () => {
    const r = await runLens(engine, model, 'hello world hello', { top: 2 });
    const ids = tokenizer.encode('hello world hello').ids;
    const direct = await logitLens(engine, lensHead(config, weights), ids, { top: 2, tokenizer });
    expect(r.layers).toEqual(direct.layers);
    expect(r.tokens.map((t) => t.id)).toEqual(ids);
    expect(r.tokens.map((t) => t.text).join('')).toBe('<s>hello world hello');
  });

  it('patch: answers given as text or as ids, both texts\' tokens', async () => {
    const req = { clean: 'hello world hello', corrupt: 'world world hello', answer: 'hello', wrong: 'world', what: 'routing' as const };
    const r = await runPatch(engine, model, req);
    const [A, B] = [tokenizer.encode('hello').ids[1], tokenizer.encode('world').ids[1]];
    const direct = await patchEffects(engine, tokenizer.encode(req.clean).ids, tokenizer.encode(req.corrupt).ids, A, B, { what: 'routing', piece: (id) => tokenizer.idToToken(id)! });
    expect(r.effect).toEqual(direct.effect);
    expect(r.answer).toEqual({ id: A, piece: '▁hello' });
    expect(r.corruptTokens.map((t) => t.id)).toEqual(tokenizer.encode(req.corrupt).ids);
    const byId = await runPatch(engine, model, { ...req, answer: A, wrong: B });
    expect(byId.effect).toEqual(r.effect);
    const ac = new AbortController();
    ac.abort();
    await expect(runPatch(engine, model, req, ac.signal)).rejects.toThrow(/abort/i);
  });

  it('a generation with the lens option carries the lens of every token, as one forward over the sequence gives it', async () => {
    const acc = new GenerationAccumulator(config);
    for await (const p of generationPayloads(engine, tokenizer, 'hello world', { maxTokens: 5, temperature: 0, lens: 3 }, undefined, lensHead(config, weights))) acc.apply(p);
    const s = acc.snapshot();
    expect(s.lens).toBeDefined();
    const ids = s.tokens.map((t) => t.id);
    expect(s.lens!.tokens.length).toBe(ids.length);
    const whole = await logitLens(engine, lensHead(config, weights), ids, { top: 3, tokenizer });
    s.lens!.layers.forEach((L, l) => {
      expect(L.resid.length).toBe(ids.length);
      L.resid.forEach((row, t) => row.forEach((x, i) => { expect(x.id).toBe(whole.layers[l].resid[t][i].id); expect(x.prob).toBeCloseTo(whole.layers[l].resid[t][i].prob, 6); }));
      L.experts.forEach((row, t) => expect(row.map((x) => x.expert)).toEqual(whole.layers[l].experts[t].map((x) => x.expert)));
    });
    const plain = new GenerationAccumulator(config);
    for await (const p of generationPayloads(engine, tokenizer, 'hello world', { maxTokens: 2 })) plain.apply(p);
    expect(plain.snapshot().lens).toBeUndefined();
  });

  it('compare: two runs, one with an intervention, and where their routing differs', async () => {
    const tracer = { trace: async (text: string | number[], o: object = {}) => buildTrace(config, await runTrace(engine, tokenizer, text, o)) };
    // Ablating the expert token 1 chooses first at layer 1 changes that token's top-k set there.
    const plain = await tracer.trace('hello world hello');
    const first = plain.routing.layers[1].indices[1 * config.num_experts_per_tok];
    const iv = [{ kind: 'ablate_experts' as const, layer: 1, experts: [first] }];
    const r = await compareRuns(tracer, 'hello world hello', { text: 'hello world hello', interventions: iv });
    expect(r.labels).toEqual(['hello world hello', 'hello world hello + 1 intervention']);
    expect(r.difference.layers[0]!.same_set).toBe(1);
    expect(r.difference.layers[1]!.same_set).toBeLessThan(1);
    expect(r.difference.changed[1]).toContain(1);
    expect(r.difference.changed[0]).not.toContain(0);
    const again = await compareRuns(tracer, r.a, r.a);
    expect(again.difference.layers.every((l) => l?.same_set === 1)).toBe(true);
  });

  it('a stop reaches a long request between two forwards, on the CPU engine too (the worker\'s yielding engine)', async () => {
    const req = { clean: 'hello world hello world hello', corrupt: 'world world hello hello hello', answer: 'hello', wrong: 'world', what: 'resid_pre' as const };
    // A timer stands for the worker's 'stop' message: it can only fire when the request yields.
    const stopped = async (e: typeof engine | ReturnType<typeof yieldingEngine>) => {
      const ac = new AbortController();
      let done = 0, total = 0;
      setTimeout(() => ac.abort(), 0);
      const outcome = await runPatch(e, model, req, ac.signal, (d, t) => { done = d; total = t; }).then(() => 'finished', (err: Error) => err.name);
      return { outcome, done, total };
    };
    const runs = config.num_hidden_layers * tokenizer.encode(req.clean).ids.length;
    const plain = await stopped(engine);
    expect(plain).toEqual({ outcome: 'finished', done: runs, total: runs }); // the plain CPU engine never lets the timer in
    const yielding = await stopped(yieldingEngine(engine));
    expect(yielding.outcome).toBe('AbortError');
    expect(yielding.done).toBeLessThan(runs);
    // Through the wrapper the results are the engine's own.
    const [a, b] = [await runPatch(yieldingEngine(engine), model, req), await runPatch(engine, model, req)];
    expect(a).toEqual(b);
  });
});

// The research commands (experts, analyze's routing structure, lens, patch) as other tools call
// them, each against an independent computation of its definition from forward hooks
// (tests/helpers/research-definitions.ts), on both engines, on the default model and on a random
// checkpoint with a tokenizer. The in-process engine of each backend gives the hooks: the CLI's
// WebGPU engine is the same Dawn device kind, so its choices are the ones compared.
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { safetensorsBytes } from '../../engine/checkpoint/testing/write-safetensors.ts';
import { tinyTensors, TINY_CONFIG } from '../../engine/checkpoint/testing/tiny-checkpoint.ts';
import { llamaStyleTokenizerJson } from '../helpers/llama-style-tokenizer.ts';
import { directorySource } from '../../engine/node.ts';
import { loadModel, type Model } from '../../engine/model.ts';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import type { Engine } from '../../engine/engine.ts';
import type { ExpertChoice, HookTensor } from '../../engine/hooks/request.ts';
import { routeLongText } from '../../engine/analysis/long-text-routing.ts';
import { TokenTexts, specialIds } from '../../engine/generation/token-texts.ts';
import { expertsByDefinition, patchedByHand, readOut, softmax, structureByDefinition } from '../helpers/research-definitions.ts';
import { noAdapter } from '../gpu/ci-policy.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_MODEL = path.join(root, 'models/mixscope-tiny');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '-s', 'cli', '--', ...args], { cwd: root, encoding: 'utf8', maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code as number) ?? 1 : 0, stdout, stderr: stderr.split('\n').filter((l) => !l.startsWith('npm warn')).join('\n') });
    });
  });
}

async function json(args: string[]): Promise<any> {
  const r = await cli(args);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout.trim().split('\n')).toHaveLength(1);
  return JSON.parse(r.stdout);
}

/** A random checkpoint (32 positions) whose vocabulary is the Llama-style test tokenizer's. */
function randomCheckpoint(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mixscope-research-'));
  const config = { ...TINY_CONFIG, vocab_size: 277, bos_token_id: 1, eos_token_id: 2 };
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(tinyTensors('F16', config)));
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(llamaStyleTokenizerJson()));
  return dir;
}

const heldout = (domain: string, chars: number) => readFileSync(path.join(root, 'training/data/heldout', `${domain}.txt`), 'utf8').slice(0, chars);

interface Case {
  model: string; backend: 'cpu' | 'webgpu';
  dir: () => string;
  /** A text for experts and analyze (the random checkpoint's is longer than its window). */
  text: () => string;
  lens: string;
  patch: { clean: string; corrupt: string; answer: string; wrong: string; whats: string[] };
}

let fixtureDir = '';
const cases: Case[] = [];
for (const backend of ['cpu', 'webgpu'] as const) {
  cases.push({
    model: 'default model', backend, dir: () => DEFAULT_MODEL, text: () => heldout('python', 500), lens: 'Das ist die Welt',
    patch: { clean: 'Das ist die', corrupt: 'This is the', answer: 'Welt', wrong: 'world', whats: backend === 'cpu' ? ['resid_pre', 'attn_out', 'mlp_out', 'routing'] : ['routing'] },
  });
  cases.push({
    model: 'random checkpoint', backend, dir: () => fixtureDir, text: () => 'hello world '.repeat(30), lens: 'hello world hello',
    // On WebGPU one activation kind and routing: tests/gpu/research-parity.test.ts checks every kind against the CPU engine.
    patch: { clean: 'hello world hello', corrupt: 'world world hello', answer: 'hello', wrong: 'world', whats: backend === 'cpu' ? ['resid_pre', 'mlp_out', 'routing'] : ['resid_pre', 'routing'] },
  });
}

beforeAll(() => { fixtureDir = randomCheckpoint(); });

describe.each(cases)('cli research commands: $model on $backend', (k) => {
  let model: Model;
  let engine: Engine | null = null;
  let noGpu: string | null = null;
  beforeAll(async () => {
    model = await loadModel(directorySource(k.dir()));
    if (k.backend === 'cpu') { engine = new CpuEngine(model.config, model.weights); return; }
    try {
      const { createNodeWebGpuEngine } = await import('../../engine/node-webgpu.ts');
      engine = await createNodeWebGpuEngine(model.config, model.weights, model.dtypeBytes);
    } catch (e) { noGpu = (e as Error).message; }
  });
  afterAll(() => engine?.dispose());
  const ready = (ctx: TestContext): Engine => {
    if (noGpu) noAdapter(`cli research (${k.backend})`, noGpu, (m) => ctx.skip(m));
    return engine!;
  };
  const args = (...a: string[]) => [...a, '--model', k.dir(), '--backend', k.backend];
  const ids = (text: string) => model.tokenizer!.encode(text).ids;
  const piece = (id: number) => model.tokenizer!.idToToken(id) ?? String(id);

  it('experts: shares, top tokens by lift and top contexts as defined, windowed as analyze', { timeout: 600_000 }, async (ctx) => {
    const e = ready(ctx);
    const c = model.config, K = c.num_experts_per_tok, E = c.num_local_experts;
    const textFile = path.join(mkdtempSync(path.join(tmpdir(), 'mixscope-text-')), 'text.txt');
    writeFileSync(textFile, k.text());
    const out = await json(args('experts', '--text-file', textFile, '--top', '4', '--min-count', '3'));
    const t = ids(k.text());
    // One window: the choices of a single forward; longer: each token from the window analyze takes it from.
    const layers = t.length <= c.max_position_embeddings
      ? await e.forward(t, { hooks: ['blocks.*.moe.hook_expert_choice'] }).then((r) => Array.from({ length: c.num_hidden_layers }, (_, l) => r.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice))
      : (await routeLongText(e, t)).layers;
    const tt = new TokenTexts(model.tokenizer, specialIds(c));
    const texts = t.map((id, i) => tt.push(id, i, false).text);
    texts[texts.length - 1] += tt.flush();
    expect(out.tokens).toBe(t.length);
    expect(out.experts).toBe(E);
    expect(out.top_k).toBe(K);
    expect(Object.keys(out).sort()).toEqual(['experts', 'layers', 'tokens', 'top_k']);
    expect(out.layers).toEqual(expertsByDefinition(t, layers, texts, K, E, 4, 3, piece));
  });

  it('analyze: co-activation, transitions, margin and fragile share per layer, as defined', { timeout: 600_000 }, async (ctx) => {
    const e = ready(ctx);
    const c = model.config, K = c.num_experts_per_tok, E = c.num_local_experts;
    const textFile = path.join(mkdtempSync(path.join(tmpdir(), 'mixscope-text-')), 'text.txt');
    writeFileSync(textFile, k.text());
    const out = await json(args('analyze', '--text-file', textFile));
    const routed = await routeLongText(e, ids(k.text()));
    out.layers.forEach((layer: any, l: number) => {
      const ref = structureByDefinition(routed.layers[l].indices, routed.layers[l + 1]?.indices ?? null, routed.layers[l].probs, K, E);
      layer.coactivation.forEach((row: number[], i: number) => row.forEach((x, j) => expect(x).toBeCloseTo(ref.coactivation[i][j], 12)));
      if (ref.transition) ref.transition.forEach((row, i) => row.forEach((x, j) => expect(layer.transition[i][j]).toBeCloseTo(x, 12)));
      else expect(layer).not.toHaveProperty('transition');
      expect(layer.margin).toBeCloseTo(ref.margin, 6);
      expect(layer.fragile_share).toBe(ref.fragile_share);
    });
  });

  it('lens: every layer and position read through the final norm and lm_head, and each chosen expert', { timeout: 600_000 }, async (ctx) => {
    const e = ready(ctx);
    const c = model.config, K = c.num_experts_per_tok, D = c.hidden_size, V = c.vocab_size;
    const out = await json(args('lens', '--text', k.lens, '--top', '3'));
    const t = ids(k.lens);
    expect(out.tokens).toEqual(t.map(piece));
    const r = await e.forward(t, { hooks: ['blocks.*.hook_resid_post', 'blocks.*.moe.hook_expert_out', 'blocks.*.moe.hook_expert_choice'] });
    const w = model.weights;
    expect(out.layers).toHaveLength(c.num_hidden_layers);
    out.layers.forEach((layer: any, l: number) => {
      const resid = (r.hooks.get(`blocks.${l}.hook_resid_post`) as HookTensor).data;
      const choice = r.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice;
      const expertOut = (r.hooks.get(`blocks.${l}.moe.hook_expert_out`) as HookTensor).data;
      layer.resid.forEach((row: any[], pos: number) => {
        const p = softmax(readOut(resid.subarray(pos * D, (pos + 1) * D), w.norm, w.lm_head, c.rms_norm_eps, V));
        const third = [...p].sort((a, b) => b - a)[2];
        expect(row).toHaveLength(3);
        row.forEach((x) => { expect(x.piece).toBe(piece(x.id)); expect(x.prob).toBeCloseTo(p[x.id], 4); expect(p[x.id]).toBeGreaterThanOrEqual(third - 1e-4); });
      });
      layer.experts.forEach((row: any[], pos: number) => {
        expect(row.map((x) => x.expert)).toEqual(Array.from(choice.indices.subarray(pos * K, (pos + 1) * K)));
        row.forEach((x, kk) => {
          expect(x.weight).toBeCloseTo(choice.weights[pos * K + kk], 6);
          const logits = readOut(expertOut.subarray((pos * K + kk) * D, (pos * K + kk + 1) * D), w.norm, w.lm_head, c.rms_norm_eps, V);
          const third = [...logits].sort((a, b) => b - a)[2];
          x.top.forEach((y: any) => { expect(y.logit).toBeCloseTo(logits[y.id], 3); expect(logits[y.id]).toBeGreaterThanOrEqual(third - 1e-3); });
        });
      });
    });
  });

  it('patch: effect of every (layer, position) as whole forwards with the patch made by a function hook give it', { timeout: 600_000 }, async (ctx) => {
    const e = ready(ctx);
    const { clean, corrupt, answer, wrong } = k.patch;
    const A = ids(answer)[1], B = ids(wrong)[1];
    for (const what of k.patch.whats) {
      const out = await json(args('patch', '--clean', clean, '--corrupt', corrupt, '--answer', answer, '--wrong', wrong, '--what', what));
      const ref = await patchedByHand(e, ids(clean), ids(corrupt), what, A, B);
      expect(out.tokens).toEqual(ids(clean).map(piece));
      expect(out.clean_diff).toBeCloseTo(ref.clean_diff, 3);
      expect(out.corrupt_diff).toBeCloseTo(ref.corrupt_diff, 3);
      const scale = Math.abs(ref.clean_diff - ref.corrupt_diff);
      expect(out.effect).toHaveLength(model.config.num_hidden_layers);
      out.effect.forEach((row: number[], l: number) => row.forEach((x, t) => expect(Math.abs(x - ref.effect[l][t]) * scale, `${what} layer ${l} position ${t}`).toBeLessThanOrEqual(2e-3)));
    }
  });
});

describe('cli research commands: bad input', () => {
  // Seven CLI processes (npm and tsx start each one): more than the default minute on a busy 2-core machine.
  it('each gets a one-line error naming what is wrong', { timeout: 300_000 }, async () => {
    const cases: [string[], RegExp][] = [
      [['patch', '--clean', 'hello world', '--corrupt', 'hello world hello', '--answer', 'hello', '--wrong', 'world'], /same number of tokens; they have 3 and 4/],
      [['patch', '--clean', 'hello world', '--corrupt', 'world world', '--answer', 'hello'], /missing --wrong/],
      [['patch', '--clean', 'hello world', '--corrupt', 'world world', '--answer', 'hello', '--wrong', 'world', '--what', 'hook_z'], /--what must be one of/],
      [['experts', '--text', 'hello world', '--top', '0'], /--top must be a positive integer/],
      [['experts'], /experts needs --text-file/],
      [['lens'], /lens needs --text T or --ids/],
      [['lens', '--ids', '1,2', '--top', '1000'], /--top must be at most the vocabulary size \(277\)/],
    ];
    for (const [a, message] of cases) {
      const r = await cli([...a, '--model', fixtureDir]);
      expect(r.code, a.join(' ')).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n'), a.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});

// The CLI's commands. Each writes exactly one line of JSON (generate without --json: the text).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { loadModelDirectory } from '../node.ts';
import { loadCliModel } from './model-source.ts';
import { CpuEngine } from '../cpu/engine.ts';
import { countParameters } from '../params.ts';
import { MixscopeTokenizer } from '../tokenizer.ts';
import { generate } from '../generate.ts';
import type { Engine } from '../engine.ts';
import type { ExpertChoice, HookTensor } from '../hooks/request.ts';
import { numberFlag, parseIds, UsageError, type CliArgs } from './args.ts';
import { readFile } from 'node:fs/promises';
import { analyzeRouting } from '../analysis/analyze-routing.ts';

type Values = CliArgs['values'];
type Out = (line: string) => void;

export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../models/mixscope-tiny/', import.meta.url));

export const USAGE = `usage: npm run -s cli -- <command> [--model DIR] [options]
  info                                   config, parameter counts, bytes per dtype
  tokenize --text T                      {"ids":[...],"tokens":[...]}
  forward --ids 1,2,3 [--backend cpu|webgpu]  last-position logits, router logits, expert choices
  generate --prompt T [--max-tokens N] [--temperature X] [--top-p P] [--top-k K] [--seed S] [--backend cpu|webgpu] [--json]
  analyze --text-file F [--backend cpu|webgpu]  per layer: expert shares (first, top-2), consecutive-token repetition
--model DIR, or org/name[@revision] from the Hugging Face Hub (cached in HF_HUB_CACHE; --token T or HF_TOKEN for gated models)
--model defaults to ${path.relative(process.cwd(), DEFAULT_MODEL_DIR) || DEFAULT_MODEL_DIR}`;

function modelDir(values: Values): string {
  if (values.model) return values.model;
  if (!existsSync(path.join(DEFAULT_MODEL_DIR, 'config.json'))) {
    throw new UsageError(`no --model given and the default model is missing (${DEFAULT_MODEL_DIR}); pass --model DIR with a Hugging Face Mixtral checkpoint`);
  }
  return DEFAULT_MODEL_DIR;
}

async function load(values: Values, { needTokenizer }: { needTokenizer: boolean }) {
  const dir = modelDir(values);
  const ckpt = await loadCliModel(dir, values.token);
  const tokenizer = ckpt.tokenizerJson ? new MixscopeTokenizer(ckpt.tokenizerJson) : undefined;
  if (needTokenizer && !tokenizer) throw new UsageError(`${path.join(dir, 'tokenizer.json')} is missing: this command needs a tokenizer`);
  return { dir, ckpt, tokenizer };
}

async function createEngine(values: Values, ckpt: Awaited<ReturnType<typeof loadModelDirectory>>): Promise<Engine> {
  const backend = values.backend ?? 'cpu';
  if (backend === 'cpu') return new CpuEngine(ckpt.config, ckpt.weights);
  if (backend === 'webgpu') {
    const { createNodeWebGpuEngine } = await import('../node-webgpu.ts');
    return createNodeWebGpuEngine(ckpt.config, ckpt.weights, ckpt.dtypeBytes);
  }
  throw new UsageError(`--backend must be cpu or webgpu, got "${backend}"`);
}

const rows = (t: HookTensor): number[][] => {
  const [T, N] = t.shape;
  return Array.from({ length: T }, (_, i) => Array.from(t.data.subarray(i * N, (i + 1) * N)));
};
const choiceRows = (c: ExpertChoice, which: 'indices' | 'weights'): number[][] => {
  const [T, K] = c.shape;
  return Array.from({ length: T }, (_, i) => Array.from(c[which].subarray(i * K, (i + 1) * K)));
};

async function info(values: Values, out: Out) {
  const { dir, ckpt, tokenizer } = await load(values, { needTokenizer: false });
  const p = countParameters(ckpt.config);
  out(JSON.stringify({
    model: dir,
    config: ckpt.config,
    parameters: {
      total: p.total, active_per_token: p.activePerToken, embedding: p.embedding, lm_head: p.lmHead,
      attention_per_layer: p.attentionPerLayer, router_per_layer: p.routerPerLayer, expert_each: p.expertEach,
    },
    bytes_per_dtype: ckpt.dtypeBytes,
    files: ckpt.files,
    tokenizer: tokenizer ? { vocab_size: tokenizer.vocabSize } : null,
  }) + '\n');
}

async function tokenize(values: Values, out: Out) {
  let text = values.text;
  if (values['text-file']) text = await readFile(values['text-file'], 'utf8');
  if (text === undefined) throw new UsageError('tokenize needs --text T (or --text-file F)');
  const { tokenizer } = await load(values, { needTokenizer: true });
  const { ids, tokens } = tokenizer!.encode(text);
  out(JSON.stringify({ ids, tokens }) + '\n');
}

async function forward(values: Values, out: Out) {
  if (!values.ids) throw new UsageError('forward needs --ids, e.g. --ids 1,2,3');
  const ids = parseIds(values.ids);
  const { ckpt } = await load(values, { needTokenizer: false });
  const engine = await createEngine(values, ckpt);
  try {
    const r = await engine.forward(ids, { hooks: ['blocks.*.moe.hook_router_logits', 'blocks.*.moe.hook_expert_choice'] });
    const L = ckpt.config.num_hidden_layers;
    const layers = Array.from({ length: L }, (_, l) => l);
    out(JSON.stringify({
      logits: Array.from(r.logits),
      router_logits: layers.map((l) => rows(r.hooks.get(`blocks.${l}.moe.hook_router_logits`) as HookTensor)),
      experts: layers.map((l) => choiceRows(r.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice, 'indices')),
      expert_weights: layers.map((l) => choiceRows(r.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice, 'weights')),
    }) + '\n');
  } finally {
    engine.dispose();
  }
}

async function generateCommand(values: Values, out: Out) {
  if (values.prompt === undefined) throw new UsageError('generate needs --prompt T');
  const { ckpt, tokenizer } = await load(values, { needTokenizer: true });
  const engine = await createEngine(values, ckpt);
  const L = ckpt.config.num_hidden_layers;
  const json = values.json === true;
  const steps: { id: number; token: string; text: string; experts: number[][]; weights: number[][] }[] = [];
  let promptExperts: number[][][] = [];
  let text = '';
  try {
    const hooks = json ? ['blocks.*.moe.hook_expert_choice'] : [];
    for await (const step of generate({ engine, tokenizer, prompt: values.prompt }, {
      maxTokens: numberFlag(values, 'max-tokens', 64),
      temperature: numberFlag(values, 'temperature', 0),
      topP: numberFlag(values, 'top-p'),
      topK: numberFlag(values, 'top-k'),
      seed: numberFlag(values, 'seed', 0),
      hooks,
    })) {
      text += step.text;
      if (!json) { out(step.text); continue; }
      const choice = (l: number) => step.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice;
      const layers = Array.from({ length: L }, (_, l) => l);
      // Step 0 runs the whole prompt: its last row belongs to the prompt's final token.
      if (step.index === 0) promptExperts = layers.map((l) => choiceRows(choice(l), 'indices'));
      const lastRow = (l: number, which: 'indices' | 'weights') => choiceRows(choice(l), which).at(-1)!;
      steps.push({
        id: step.token, token: step.piece, text: step.text,
        experts: layers.map((l) => lastRow(l, 'indices')),
        weights: layers.map((l) => lastRow(l, 'weights')),
      });
    }
  } finally {
    engine.dispose();
  }
  if (!json) { out('\n'); return; }
  const promptIds = tokenizer!.encode(values.prompt).ids;
  out(JSON.stringify({
    prompt: values.prompt,
    prompt_ids: promptIds,
    prompt_experts: promptExperts,
    text,
    ids: steps.map((s) => s.id),
    tokens: steps.map((s) => s.token),
    steps,
  }) + '\n');
}

/** The routing statistics of the Mixtral paper's section 5 over a text (see engine/analysis/). */
async function analyze(values: Values, out: Out) {
  if (!values['text-file'] && values.text === undefined) throw new UsageError('analyze needs --text-file F (or --text T)');
  const text = values['text-file'] ? await readFile(values['text-file'], 'utf8') : values.text!;
  const { ckpt, tokenizer } = await load(values, { needTokenizer: true });
  const { ids } = tokenizer!.encode(text);
  if (ids.length < 2) throw new UsageError('analyze needs a text of at least two tokens');
  const engine = await createEngine(values, ckpt);
  try {
    out(JSON.stringify(await analyzeRouting(engine, ids)) + '\n');
  } finally {
    engine.dispose();
  }
}

export const COMMANDS: Record<string, (values: Values, out: Out) => Promise<void>> = {
  info,
  tokenize,
  forward,
  generate: generateCommand,
  analyze,
};

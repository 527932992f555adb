// The CLI's commands. Each writes exactly one line of JSON (generate without --json: the text).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { readCheckpointSummary } from '../node.ts';
import { loadModel, loadStoredModel, type Model, type StoredModel } from '../model.ts';
import type { CheckpointSource } from '../checkpoint/source.ts';
import { readModelFiles } from '../checkpoint/checkpoint-files.ts';
import type { MixtralConfig } from '../config.ts';
import { lensHeadKeeper, type LensWeights } from '../lens/head-keeper.ts';
import type { LensHeadWeights } from '../lens/logit-lens.ts';
import { cliSource, loadCliModel, isModelDirectory } from './model-source.ts';
import { footprintReport } from './footprint-report.ts';
import { parseConfig } from '../config.ts';
import { CONFIG_FILE, TOKENIZER_FILE } from '../checkpoint/load.ts';
import { CpuEngine } from '../cpu/engine.ts';
import { countParameters } from '../params.ts';
import { MixscopeTokenizer } from '../tokenizer.ts';
import { generate, type Finish } from '../generate.ts';
import type { Engine } from '../engine.ts';
import { layerRouting, routingHooks, type LayerRouting } from '../routing/routing.ts';
import { integerFlag, numberFlag, parseIds, UsageError, weightsFlag, type CliArgs } from './args.ts';
import type { WeightFormat } from '../footprint/formats.ts';
import type { WebGpuEngineOptions } from '../webgpu/engine.ts';
import { MAX_SEED } from '../sampling.ts';
import { checkFinite } from '../generation/finite.ts';
import { analyzeRouting } from '../analysis/analyze-routing.ts';
import { promptIds } from '../generation/prompt.ts';
import { experts } from './experts.ts';
import { lens } from './lens.ts';
import { patch } from './patch.ts';

type Values = CliArgs['values'];
type Out = (line: string) => void;
/** Where a command says what is not its result (e.g. why a generation ended): stderr. */
type Note = (line: string) => void;

export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../models/mixscope-tiny/', import.meta.url));

export const USAGE = `usage: npm run -s cli -- <command> [--model DIR] [options]
  info [--no-weights] [--backend webgpu] [--weights F]  config, parameter counts, bytes per dtype (weights not needed), footprint:
                                         file sizes, weight memory per format (f32 f16 q8 q4), whether WebGPU can hold them; a Hub
                                         model with --no-weights: sizes from the Hub, weights not downloaded
  tokenize --text T                      {"ids":[...],"tokens":[...]} (needs config.json and tokenizer.json only)
  forward --ids 1,2,3 [--backend cpu|webgpu]  last-position logits, router logits, expert choices
  generate --prompt T [--max-tokens N] [--temperature X] [--top-p P] [--top-k K] [--seed S] [--backend cpu|webgpu] [--json]
  analyze --text-file F [--backend cpu|webgpu]  per layer: expert shares (first, top-k), consecutive-token repetition, co-activation, transitions, margins
  experts --text-file F [--top N] [--min-count M] [--backend cpu|webgpu]  per layer and expert: shares, top tokens by lift, top contexts
  lens --text T | --ids 1,2,3 [--top N] [--backend cpu|webgpu]  logit lens of every layer and position, and of each chosen expert's output
  patch --clean T --corrupt T2 --answer A --wrong B [--what resid_pre|attn_out|resid_mid|mlp_out|resid_post|routing] [--backend cpu|webgpu]
--seed S: an integer from 0 to ${MAX_SEED}; --special-tokens: read "<s>", "</s>" in --text/--prompt as special tokens (default: text)
--weights f32|f16|q8|q4 (every command that runs the model): the format the engine keeps the matrices in; the routers stay
  f32. Default: on the CPU the checkpoint's own width (F16, BF16 or F32), on WebGPU the engine's choice
--model DIR, or org/name[@revision] from the Hugging Face Hub (cached in HF_HUB_CACHE; --token T or HF_TOKEN for gated models)
--model defaults to ${path.relative(process.cwd(), DEFAULT_MODEL_DIR) || DEFAULT_MODEL_DIR}`;

function modelDir(values: Values): string {
  if (values.model) return values.model;
  if (!existsSync(path.join(DEFAULT_MODEL_DIR, 'config.json'))) {
    throw new UsageError(`no --model given and the default model is missing (${DEFAULT_MODEL_DIR}); pass --model DIR with a Hugging Face Mixtral checkpoint`);
  }
  return DEFAULT_MODEL_DIR;
}

export function requireTokenizer(dir: string, tokenizer: MixscopeTokenizer | null): MixscopeTokenizer {
  if (!tokenizer) throw new UsageError(`${path.join(dir, 'tokenizer.json')} is missing: this command needs a tokenizer`);
  return tokenizer;
}

/**
 * The most weight bytes (as float32) the CLI loads: the machine's memory. A checkpoint larger
 * than that fails before it is read, naming the tensor that would cross it.
 */
const MAX_WEIGHT_BYTES = totalmem();

/**
 * What the CLI loads: for the CPU engine the weights at stored width or converted (float32 with
 * --weights f32); for WebGPU config.json and tokenizer.json only, the weights left in their files
 * until createEngine streams them to the device (StreamedCliModel).
 */
export type CliModel = Model | StoredModel | StreamedCliModel;

/**
 * A model bound for the WebGPU engine: its weights go from the source to the GPU one tensor at a
 * time when the engine is made (the process never holds the model); the final norm and lm_head
 * are kept in float32 on the way for the logit lens (`head`, set by createEngine).
 */
export interface StreamedCliModel {
  streamed: true;
  source: CheckpointSource;
  config: MixtralConfig;
  tokenizerJson: unknown | null;
  tokenizer: MixscopeTokenizer | null;
  head: LensWeights | null;
}

/** The norm and lm_head the logit lens reads: the CPU model's own, or those kept as the weights streamed to the GPU. */
export function lensWeights(model: CliModel): LensHeadWeights {
  if (!('streamed' in model)) return model.weights;
  if (!model.head) throw new Error('the lens head is kept when the engine is made: call createEngine first');
  return model.head;
}

function backendFlag(values: Values): 'cpu' | 'webgpu' {
  const backend = values.backend ?? 'cpu';
  if (backend !== 'cpu' && backend !== 'webgpu') throw new UsageError(`--backend must be cpu or webgpu, got ${JSON.stringify(backend.slice(0, 40))}`);
  return backend;
}

/**
 * A directory on disk, or a Hugging Face Hub model through its cache (see model-source.ts). On
 * the CPU engine the matrices stay at their stored width (F16/BF16 rows decoded as the engine
 * computes, bit for bit the float32 results), so memory is about the file's size; --weights
 * converts each matrix as it arrives (q8, q4, f16), or reads them as float32 (f32). For WebGPU
 * only config.json and tokenizer.json are read here: createEngine streams the weights.
 */
export async function load(values: Values, { needTokenizer }: { needTokenizer: boolean }): Promise<{ dir: string; model: CliModel }> {
  const dir = modelDir(values);
  const format = weightsFlag(values), backend = backendFlag(values);
  const options = { maxWeightBytes: MAX_WEIGHT_BYTES };
  const model = await loadCliModel(dir, values.token, async (source): Promise<CliModel> => {
    if (backend === 'webgpu') {
      const { config, tokenizerJson } = await readModelFiles(source);
      return { streamed: true, source, config, tokenizerJson, tokenizer: tokenizerJson ? new MixscopeTokenizer(tokenizerJson) : null, head: null };
    }
    if (format === 'f32') return loadModel(source, options);
    return loadStoredModel(source, { ...options, format });
  });
  if (needTokenizer) requireTokenizer(dir, model.tokenizer);
  return { dir, model };
}

/**
 * What `info` and `tokenize` read: config.json, tokenizer.json and the safetensors headers of a
 * directory, without its weights. A Hub model is fetched through the cache first.
 */
async function summary(values: Values) {
  const dir = modelDir(values);
  if (isModelDirectory(dir)) return { dir, ...(await readCheckpointSummary(dir)) };
  if (values['no-weights']) {
    // config.json and tokenizer.json (small) through the cache; the weights' sizes from the Hub's answers only.
    const source = cliSource(dir, values.token);
    const config = parseConfig(await source.text(CONFIG_FILE));
    const tokenizerJson = (await source.has(TOKENIZER_FILE)) ? JSON.parse(await source.text(TOKENIZER_FILE)) as unknown : null;
    return { dir, config, tokenizerJson, files: [CONFIG_FILE, ...(tokenizerJson !== null ? [TOKENIZER_FILE] : [])], dtypeBytes: {} };
  }
  // The summary reads no weights' values: load them as stored, whatever --weights and --backend say.
  const { model } = await load({ ...values, weights: undefined, backend: 'cpu' }, { needTokenizer: false });
  if ('streamed' in model) throw new Error('unreachable: the CPU load reads the weights');
  return { dir, config: model.config, tokenizerJson: model.tokenizerJson, files: model.files, dtypeBytes: model.dtypeBytes };
}

/** The WebGPU engine's options for --weights (every format: q8 and q4 have dequantizing kernels). */
export const webgpuOptions = (format: WeightFormat | undefined): WebGpuEngineOptions => (format ? { weights: format } : {});

/** The engine `model` was loaded for: the CPU engine on its weights, or WebGPU with the weights streamed from their files. */
export async function createEngine(values: Values, model: CliModel): Promise<Engine> {
  if (!('streamed' in model)) return new CpuEngine(model.config, model.weights);
  const { loadNodeWebGpuModel } = await import('../node-webgpu.ts');
  const keeper = lensHeadKeeper(model.config);
  const { engine } = await loadNodeWebGpuModel(model.source, {
    ...webgpuOptions(weightsFlag(values)), files: { config: model.config, tokenizerJson: model.tokenizerJson }, onTensor: keeper.onTensor,
  });
  model.head = keeper.head();
  return engine;
}

/** (T, N) row-major -> T rows of N. */
const rows = (data: Float32Array | Int32Array, N: number): number[][] =>
  Array.from({ length: data.length / N }, (_, i) => Array.from(data.subarray(i * N, (i + 1) * N)));

/** Reads config.json, tokenizer.json and the safetensors headers only: works without the weights. */
async function info(values: Values, out: Out) {
  const format = weightsFlag(values);
  const { dir, ...s } = await summary(values);
  const p = countParameters(s.config);
  const tokenizer = s.tokenizerJson ? new MixscopeTokenizer(s.tokenizerJson) : null;
  out(JSON.stringify({
    model: dir,
    family: s.config.family.name,
    model_type: s.config.model_type,
    config: s.config,
    parameters: {
      total: p.total, active_per_token: p.activePerToken, embedding: p.embedding, lm_head: p.lmHead,
      attention_per_layer: p.attentionPerLayer, router_per_layer: p.routerPerLayer, expert_each: p.expertEach,
      shared_expert_per_layer: p.sharedPerLayer, dense_mlp_each: p.denseMlpEach, moe_layers: p.moeLayers, dense_layers: p.denseLayers,
    },
    bytes_per_dtype: s.dtypeBytes,
    files: s.files,
    tokenizer: tokenizer ? { vocab_size: tokenizer.vocabSize } : null,
    footprint: await footprintReport(cliSource(dir, values.token), values.backend, format),
  }) + '\n');
}

/** Needs config.json and tokenizer.json only. */
async function tokenize(values: Values, out: Out) {
  let text = values.text;
  if (values['text-file']) text = await readFile(values['text-file'], 'utf8');
  if (text === undefined) throw new UsageError('tokenize needs --text T (or --text-file F)');
  const { dir, tokenizerJson } = await summary(values);
  const { ids, tokens } = requireTokenizer(dir, tokenizerJson ? new MixscopeTokenizer(tokenizerJson) : null).encode(text, { specialTokens: values['special-tokens'] === true });
  out(JSON.stringify({ ids, tokens }) + '\n');
}

async function forward(values: Values, out: Out) {
  if (!values.ids) throw new UsageError('forward needs --ids, e.g. --ids 1,2,3');
  const ids = parseIds(values.ids);
  const { model } = await load(values, { needTokenizer: false });
  const engine = await createEngine(values, model);
  try {
    const r = await engine.forward(ids, { hooks: routingHooks({ logits: true }) });
    const E = model.config.num_local_experts, K = model.config.num_experts_per_tok;
    const layers = layerRouting(model.config, r.hooks, { logits: true });
    // NaN would print as null: say what went wrong instead.
    checkFinite(model.config, r.position, ids.length, layers, r);
    // A dense layer (qwen's mlp_only_layers / decoder_sparse_step) routes nothing: null.
    const each = <V>(f: (L: LayerRouting) => V) => layers.map((L) => (L.dense ? null : f(L)));
    out(JSON.stringify({
      logits: Array.from(r.logits),
      router_logits: each((L) => rows(L.logits!, E)),
      experts: each((L) => rows(L.indices, K)),
      expert_weights: each((L) => rows(L.weights, K)),
    }) + '\n');
  } finally {
    engine.dispose();
  }
}

async function generateCommand(values: Values, out: Out, note: Note) {
  if (values.prompt === undefined) throw new UsageError('generate needs --prompt T');
  // Flags first: a mistyped one costs no model load.
  const maxTokens = integerFlag(values, 'max-tokens', { min: 1, max: 2 ** 31 - 1, fallback: 64 })!;
  const sampling = {
    temperature: numberFlag(values, 'temperature', 0),
    topP: numberFlag(values, 'top-p'),
    topK: integerFlag(values, 'top-k', { min: 0, max: 2 ** 31 - 1 }),
    seed: integerFlag(values, 'seed', { min: 0, max: MAX_SEED, fallback: 0 }),
  };
  let promptLength = 0;
  const { dir, model } = await load(values, { needTokenizer: true });
  const tokenizer = requireTokenizer(dir, model.tokenizer);
  const engine = await createEngine(values, model);
  const K = model.config.num_experts_per_tok;
  const json = values.json === true;
  const steps: { id: number; token: string; text: string; experts: (number[] | null)[]; weights: (number[] | null)[] }[] = [];
  let promptIds: number[] = [];
  let promptExperts: (number[][] | null)[] = [];
  let text = '';
  let finish: Finish | undefined;
  let generated = 0;
  // The last row of a layer: the routing of the token that was fed last in the step.
  const lastRow = (L: LayerRouting, which: 'indices' | 'weights') => (L.dense ? null : Array.from(L[which].subarray(L[which].length - K)));
  try {
    for await (const step of generate({ engine, tokenizer, prompt: values.prompt }, {
      maxTokens,
      ...sampling,
      specialTokens: values['special-tokens'] === true,
      routing: json,
    })) {
      text += step.text;
      generated = step.index + 1;
      finish = step.finish ?? finish;
      if (step.index === 0) promptLength = step.inputIds.length;
      if (!json) { out(step.text); continue; }
      const routing = step.routing!;
      // Step 0 runs the whole prompt: its last row belongs to the prompt's final token.
      if (step.index === 0) {
        promptIds = step.inputIds;
        promptExperts = routing.map((L) => (L.dense ? null : rows(L.indices, K)));
      }
      steps.push({
        id: step.token, token: step.piece, text: step.text,
        experts: routing.map((L) => lastRow(L, 'indices')),
        weights: routing.map((L) => lastRow(L, 'weights')),
      });
    }
  } finally {
    engine.dispose();
  }
  // Not part of the result, but a reader should know the text was cut by the model's window.
  if (finish === 'context') {
    note(`mixscope generate: stopped after ${generated} tokens because the model's context window (${model.config.max_position_embeddings} positions) is full: --max-tokens ${maxTokens} was cut to ${generated} by a prompt of ${promptLength} tokens\n`);
  }
  if (!json) { out('\n'); return; }
  out(JSON.stringify({
    prompt: values.prompt,
    prompt_ids: promptIds,
    prompt_experts: promptExperts,
    text,
    ids: steps.map((s) => s.id),
    tokens: steps.map((s) => s.token),
    finish,
    steps,
  }) + '\n');
}

/** The routing statistics of the Mixtral paper's section 5 over a text (see engine/analysis/). */
async function analyze(values: Values, out: Out) {
  if (!values['text-file'] && values.text === undefined) throw new UsageError('analyze needs --text-file F (or --text T)');
  const text = values['text-file'] ? await readFile(values['text-file'], 'utf8') : values.text!;
  const { dir, model } = await load(values, { needTokenizer: true });
  const ids = promptIds(model.config, requireTokenizer(dir, model.tokenizer), text, 'any-length');
  if (ids.length < 2) throw new UsageError('analyze needs a text of at least two tokens');
  const engine = await createEngine(values, model);
  try {
    out(JSON.stringify(await analyzeRouting(engine, ids)) + '\n');
  } finally {
    engine.dispose();
  }
}

export const COMMANDS: Record<string, (values: Values, out: Out, note: Note) => Promise<void>> = {
  info,
  tokenize,
  forward,
  generate: generateCommand,
  analyze,
  experts,
  lens,
  patch,
};

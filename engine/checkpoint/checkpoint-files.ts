// The files of a Hugging Face checkpoint and the checks that need only them: which weight files
// to read (single file or an index's shards), config.json and tokenizer.json read within their
// bounds, the config's size checked against the weight files, and the first tensor the config
// describes that no file holds. Shared by every loader (load.ts, load-stored.ts, tensor-reader.ts).
// Browser-, worker- and Node-safe: all I/O goes through a CheckpointSource.
import { parseConfig, type MixtralConfig } from '../config.ts';
import { CheckpointError, excerpt } from '../errors.ts';
import { countParameters } from '../params.ts';
import { JSON_LIMITS, readJsonFile } from './json-limits.ts';
import type { CheckpointSource } from './source.ts';
import { eachTensorSpec, tensorCount } from './tensor-specs.ts';

export const CONFIG_FILE = 'config.json';
export const TOKENIZER_FILE = 'tokenizer.json';
export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';

export interface WeightPlan {
  files: string[];
  /** Tensor -> shard, from the index (empty for a single file). */
  weightMap: Map<string, string>;
}

/**
 * Which safetensors files to read: the single file when there is one (Hugging Face's own order,
 * and it spares a browser a 404 for the index), else the shards an index names.
 */
export async function planWeightFiles(source: CheckpointSource, signal?: AbortSignal): Promise<WeightPlan> {
  if (await source.has(SINGLE_FILE)) return { files: [SINGLE_FILE], weightMap: new Map() };
  if (await source.has(INDEX_FILE)) {
    const bad = (message: string): never => { throw new CheckpointError('bad-index', INDEX_FILE, message); };
    const index = await readJsonFile(source, INDEX_FILE, JSON_LIMITS.index, 'bad-index', signal);
    if (typeof index !== 'object' || index === null || Array.isArray(index)) bad('must be a JSON object');
    const map = (index as { weight_map?: unknown }).weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) bad('missing "weight_map" object');
    const weightMap = new Map<string, string>();
    for (const [tensor, shard] of Object.entries(map as Record<string, unknown>)) {
      if (typeof shard !== 'string' || shard === '' || shard.includes('/') || shard.includes('\\') || shard === '.' || shard === '..') {
        bad(`weight_map gives ${excerpt(tensor, 80)} an invalid shard ${typeof shard === 'string' ? excerpt(shard, 80) : String(shard)}`);
      }
      weightMap.set(tensor, shard as string);
    }
    const shards = [...new Set(weightMap.values())].sort();
    if (shards.length === 0) bad('"weight_map" names no shards');
    for (const s of shards) {
      if (!(await source.has(s))) bad(`names shard ${excerpt(s, 80)}, which is not in ${source.label}`);
    }
    return { files: shards, weightMap };
  }
  throw new CheckpointError('missing-file', SINGLE_FILE, `no ${SINGLE_FILE} or ${INDEX_FILE} in ${source.label}`);
}

/** config.json (required) and tokenizer.json (null when absent), each read within its bounds (json-limits.ts). */
export async function readModelFiles(source: CheckpointSource, signal?: AbortSignal): Promise<{ config: MixtralConfig; tokenizerJson: unknown | null }> {
  signal?.throwIfAborted();
  if (!(await source.has(CONFIG_FILE))) throw new CheckpointError('missing-file', CONFIG_FILE, `no ${CONFIG_FILE} in ${source.label}`);
  const config = parseConfig(await readJsonFile(source, CONFIG_FILE, JSON_LIMITS.config, 'bad-config', signal));
  let tokenizerJson: unknown | null = null;
  if (await source.has(TOKENIZER_FILE)) {
    tokenizerJson = await readJsonFile(source, TOKENIZER_FILE, JSON_LIMITS.tokenizer, 'bad-tokenizer', signal);
    if (typeof tokenizerJson !== 'object' || tokenizerJson === null || Array.isArray(tokenizerJson)) {
      throw new CheckpointError('bad-tokenizer', TOKENIZER_FILE, 'must be a JSON object');
    }
  }
  signal?.throwIfAborted();
  return { config, tokenizerJson };
}

/** 512 B, 1.5 MB, 17.2 GB: sizes in messages. */
export function bytes(n: number): string {
  if (n < 1e3) return `${n} B`;
  const [unit, d] = n < 1e6 ? ['kB', 1e3] : n < 1e9 ? ['MB', 1e6] : n < 1e12 ? ['GB', 1e9] : ['TB', 1e12];
  return `${(n / d).toFixed(1)} ${unit}`;
}

/** "a.safetensors, b.safetensors", or the first and last of many. */
export function fileList(files: readonly string[]): string {
  const names = files.map((f) => (f.length > 60 ? excerpt(f, 60) : f));
  return names.length <= 3 ? names.join(', ') : `${names[0]} ... ${names.at(-1)} (${names.length} files)`;
}

/**
 * A config is untrusted: before any weight is read, the model it describes must fit the files
 * in hand. Every parameter takes at least 2 bytes (F16, BF16), so a config claiming 10^8 layers
 * over a 1 MB file fails here, at once, instead of after building 10^8 layers of anything.
 */
export function checkConfigAgainstFiles(config: MixtralConfig, files: readonly string[], sizes: readonly (number | undefined)[]): void {
  if (sizes.some((s) => s === undefined)) return; // checked tensor by tensor as the headers arrive
  const held = sizes.reduce<number>((a, s) => a + s!, 0);
  const params = countParameters(config).total;
  if (2 * params > held) {
    const c = config;
    throw new CheckpointError('bad-config', CONFIG_FILE,
      `describes ${params.toPrecision(3)} parameters (${c.num_hidden_layers} layers, ${c.num_local_experts} experts, hidden ${c.hidden_size}, vocab ${c.vocab_size}): at least ${bytes(2 * params)}, but ${fileList(files)} hold ${bytes(held)}`);
  }
}

/**
 * Throws for the first tensor the config describes that no file holds (`has`). Every tensor
 * found stands for a header entry, so this stops within (entries + 1) steps however many layers
 * the config claims.
 */
export function checkAllPresent(config: MixtralConfig, plan: WeightPlan, has: (name: string) => boolean, held: number): void {
  const { files, weightMap } = plan;
  for (const spec of eachTensorSpec(config)) {
    if (has(spec.name)) continue;
    const name = spec.name;
    const indexed = weightMap.get(name);
    const hint = indexed !== undefined ? `; the index places it in ${excerpt(indexed, 60)}` : weightMap.size ? '; the index does not list it' : '';
    const found = held - (config.tie_word_embeddings && has('lm_head.weight') ? 1 : 0);
    const counts = `; config.json describes ${tensorCount(config)} tensors (${config.num_hidden_layers} layers of ${config.num_local_experts} experts), the files hold ${found} of them`;
    throw new CheckpointError('missing-tensor', fileList(files), `tensor is in none of the files searched (${fileList(files)})${hint}${counts}`, name);
  }
}

// Know before you download: what a checkpoint is and what it will take, from config.json and
// the sizes its source states (a Hub's HEAD answers and LFS sizes, a server's Content-Length,
// a file's size), reading no weights. Browser-, worker- and Node-safe: all I/O through a
// CheckpointSource.
import { CONFIG_FILE, INDEX_FILE, SINGLE_FILE, TOKENIZER_FILE } from '../checkpoint/load.ts';
import type { CheckpointSource } from '../checkpoint/source.ts';
import { CheckpointError } from '../errors.ts';
import { JSON_LIMITS, readJsonFile } from '../checkpoint/json-limits.ts';
import { WEIGHT_FORMATS, type WeightFormat } from './formats.ts';
import { weightFootprint, type WeightFootprint } from './footprint.ts';
import { countTableParameters, moeTensorTable } from './moe-tensors.ts';

export interface CheckpointInspection {
  label: string;
  modelType: string;
  config: Record<string, unknown>;
  parameters: { total: number; activePerToken: number };
  /** The files a load reads, with their sizes when the source states them. */
  files: { name: string; bytes: number | undefined }[];
  /** Sum of the known file sizes; `complete` is false when some size is unknown. */
  downloadBytes: number;
  complete: boolean;
  /** How the weights are stored: from the files' size per parameter, and torch_dtype for which 16-bit. */
  storedDtype: 'F32' | 'F16' | 'BF16' | 'unknown';
  /** The weights on a device in each format. */
  formats: Record<WeightFormat, WeightFootprint>;
}

/** The weight files a load would read: the single file, else the shards the index names. */
async function weightFiles(source: CheckpointSource, requireWeights: boolean): Promise<string[]> {
  if (await source.has(SINGLE_FILE)) return [SINGLE_FILE];
  if (!(await source.has(INDEX_FILE))) {
    if (!requireWeights) return [];
    throw new CheckpointError('missing-file', SINGLE_FILE, `no ${SINGLE_FILE} or ${INDEX_FILE} in ${source.label}`);
  }
  // Read with the loader's bounds (size, depth, string length): a hostile index fails as it does there.
  const index = await readJsonFile(source, INDEX_FILE, JSON_LIMITS.index, 'bad-index');
  const map: unknown = typeof index === 'object' && index !== null ? (index as { weight_map?: unknown }).weight_map : undefined;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new CheckpointError('bad-index', INDEX_FILE, 'missing "weight_map" object');
  const shards = [...new Set(Object.values(map as Record<string, unknown>))];
  if (!shards.every((s): s is string => typeof s === 'string')) throw new CheckpointError('bad-index', INDEX_FILE, 'a shard name is not a string');
  return [INDEX_FILE, ...shards.sort()];
}

/** Which dtype `bytes` of weights for `params` parameters are, helped by the config's torch_dtype. */
export function guessStoredDtype(bytes: number, params: number, torchDtype: unknown): CheckpointInspection['storedDtype'] {
  if (!params || !bytes) return 'unknown';
  const perParam = bytes / params;
  // Headers, unused tensors and rounding keep this near, not at, 2 or 4.
  if (perParam > 3 && perParam < 4.5) return 'F32';
  if (perParam > 1.5 && perParam < 2.5) return torchDtype === 'float16' ? 'F16' : torchDtype === 'bfloat16' ? 'BF16' : 'unknown';
  return 'unknown';
}

/** `requireWeights: false` sizes a folder with config.json alone (the CLI's info); a load needs them. */
export async function inspectCheckpoint(source: CheckpointSource, { requireWeights = true } = {}): Promise<CheckpointInspection> {
  if (!(await source.has(CONFIG_FILE))) throw new CheckpointError('missing-file', CONFIG_FILE, `no ${CONFIG_FILE} in ${source.label}`);
  // Read with the loader's bounds (size, depth, string length): a hostile config fails as it does there.
  const config = await readJsonFile(source, CONFIG_FILE, JSON_LIMITS.config, 'bad-config') as Record<string, unknown>;
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new CheckpointError('bad-config', CONFIG_FILE, 'must be a JSON object');
  let table;
  try { table = moeTensorTable(config); } catch (e) { throw new CheckpointError('bad-config', CONFIG_FILE, (e as Error).message.replace(/^config\.json: /, '')); }
  const weights = await weightFiles(source, requireWeights);
  const names = [CONFIG_FILE, ...weights, ...((await source.has(TOKENIZER_FILE)) ? [TOKENIZER_FILE] : [])];
  const files = await Promise.all(names.map(async (name) => ({ name, bytes: await source.size(name) })));
  const known = files.filter((f) => f.bytes !== undefined);
  const parameters = countTableParameters(table);
  const weightBytes = files.filter((f) => f.name.endsWith('.safetensors')).reduce((a, f) => a + (f.bytes ?? 0), 0);
  const formats = Object.fromEntries(WEIGHT_FORMATS.map((f) => [f, weightFootprint(table, f)])) as Record<WeightFormat, WeightFootprint>;
  return {
    label: source.label,
    modelType: table.modelType,
    config,
    parameters,
    files,
    downloadBytes: known.reduce((a, f) => a + f.bytes!, 0),
    complete: known.length === files.length,
    storedDtype: guessStoredDtype(weightBytes, parameters.total, config.torch_dtype ?? config.dtype),
    formats,
  };
}

// Node-only helpers: read a checkpoint from a directory on disk, or from the Hugging Face Hub
// through its cache on disk. The Node entry: only it and the hub/node-*.ts modules it re-exports
// import node:* (everything else runs in a browser or a Web Worker).
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import path from 'node:path';
import { CheckpointError, excerpt } from './errors.ts';
import { parseConfig, type MixtralConfig } from './config.ts';
import {
  CONFIG_FILE, INDEX_FILE, SINGLE_FILE, TOKENIZER_FILE, HeaderParser, loadCheckpoint, readHeaderLength, tensorSpecFor,
  type CheckpointSource, type LoadedCheckpoint, type LoadOptions,
} from './checkpoint/index.ts';
import { JSON_LIMITS, readJsonFile } from './checkpoint/json-limits.ts';

export { hubCacheSource, type HubCacheSource, type HubCacheSourceOptions } from './hub/node-source.ts';
export { RepoCache, repoFolderName } from './hub/node-cache.ts';
export { hubSettings, hubCacheDir, hubToken, hfHome, type HubSettings } from './hub/node-settings.ts';

async function fileSize(p: string): Promise<number | undefined> {
  try {
    const s = await stat(p);
    return s.isFile() ? s.size : undefined;
  } catch { return undefined; }
}

/** The files of a checkpoint directory, streamed with node:fs. Throws 'missing-file' if `dir` is not a directory. */
export function directorySource(dir: string): CheckpointSource {
  let isDir = false;
  try { isDir = statSync(dir).isDirectory(); } catch { /* reported below */ }
  if (!isDir) throw new CheckpointError('missing-file', dir, 'is not a directory');
  const file = (name: string) => {
    // Names are plain file names inside the directory, never paths out of it.
    if (name !== path.basename(name) || name === '.' || name === '..') {
      throw new CheckpointError('missing-file', name, `is not a file name inside ${dir}`);
    }
    return path.join(dir, name);
  };
  return {
    label: dir,
    list() { return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort(); },
    async has(name) {
      try { return (await fileSize(file(name))) !== undefined; } catch { return false; }
    },
    async size(name) { return fileSize(file(name)); },
    async text(name) {
      try { return await readFile(file(name), 'utf8'); } catch (e) {
        throw new CheckpointError('missing-file', name, `cannot read ${file(name)}: ${(e as Error).message}`);
      }
    },
    async stream(name) {
      const p = file(name);
      if ((await fileSize(p)) === undefined) throw new CheckpointError('missing-file', name, `${p} does not exist`);
      return Readable.toWeb(createReadStream(p, { highWaterMark: 1 << 20 })) as unknown as ReadableStream<Uint8Array>;
    },
  };
}

/**
 * The one way to read a checkpoint folder in Node: config.json, the safetensors weights (single
 * file or sharded) and tokenizer.json when present, as the browser's loadCheckpoint reads a URL
 * or files. For a Model (tokenizer built, parameters counted): loadModel(directorySource(dir)).
 */
export async function loadModelDirectory(dir: string, options?: LoadOptions): Promise<LoadedCheckpoint> {
  return loadCheckpoint(directorySource(dir), options);
}

/** What a checkpoint folder says about itself without its weights being read. */
export interface CheckpointSummary {
  config: MixtralConfig;
  /** Parsed tokenizer.json, or null when there is none. */
  tokenizerJson: unknown | null;
  /** The checkpoint's files present: config.json, the weight files, tokenizer.json. */
  files: string[];
  /** Bytes stored per dtype over the tensors the model uses, from the safetensors headers; {} without weights. */
  dtypeBytes: Record<string, number>;
}

/**
 * config.json, tokenizer.json and the safetensors headers of `dir`, never a tensor's bytes: enough
 * for parameter counts and tokenization of a model whose weights are absent or too large to load.
 */
export async function readCheckpointSummary(dir: string): Promise<CheckpointSummary> {
  const source = directorySource(dir);
  if (!(await source.has(CONFIG_FILE))) throw new CheckpointError('missing-file', CONFIG_FILE, `no ${CONFIG_FILE} in ${dir}`);
  const config = parseConfig(await readJsonFile(source, CONFIG_FILE, JSON_LIMITS.config, 'bad-config'));
  let tokenizerJson: unknown | null = null;
  if (await source.has(TOKENIZER_FILE)) tokenizerJson = await readJsonFile(source, TOKENIZER_FILE, JSON_LIMITS.tokenizer, 'bad-tokenizer');
  const weights = await weightFiles(source, dir);
  // Each listed tensor is looked up by name: the config's counts are not trusted to size anything.
  const used = (name: string) => tensorSpecFor(config, name, { optional: true }) !== null;
  const dtypeBytes: Record<string, number> = {};
  for (const file of weights) {
    for (const t of (await readHeader(path.join(dir, file), file, used)).tensors.values()) {
      dtypeBytes[t.dtype] = (dtypeBytes[t.dtype] ?? 0) + (t.end - t.begin);
    }
  }
  const files = [CONFIG_FILE, ...weights, ...(tokenizerJson !== null ? [TOKENIZER_FILE] : [])];
  return { config, tokenizerJson, files, dtypeBytes };
}

/** The safetensors files of a folder: the single file, or the shards its index names; none is fine here. */
async function weightFiles(source: CheckpointSource, dir: string): Promise<string[]> {
  if (await source.has(SINGLE_FILE)) return [SINGLE_FILE];
  if (!(await source.has(INDEX_FILE))) return [];
  const index = await readJsonFile(source, INDEX_FILE, JSON_LIMITS.index, 'bad-index');
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new CheckpointError('bad-index', INDEX_FILE, 'missing "weight_map" object');
  const shards = [...new Set(Object.values(map as Record<string, unknown>))].sort();
  for (const s of shards) {
    if (typeof s !== 'string' || s !== path.basename(s) || !(await source.has(s))) {
      throw new CheckpointError('bad-index', INDEX_FILE, `names shard ${typeof s === 'string' ? excerpt(s, 80) : String(s)}, which is not a file in ${dir}`);
    }
  }
  return shards as string[];
}

/** The header of one safetensors file: its first 8 + N bytes only, read and parsed 1 MiB at a time. */
async function readHeader(file: string, name: string, keep: (tensor: string) => boolean) {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const first = new Uint8Array(8);
    const { bytesRead } = await handle.read(first, 0, 8, 0);
    const n = readHeaderLength(first.subarray(0, bytesRead), name, size);
    const parser = new HeaderParser(name, n, { fileSize: size, keep });
    const part = new Uint8Array(Math.min(n, 1 << 20));
    for (let at = 0; at < n;) {
      const { bytesRead: got } = await handle.read(part, 0, Math.min(part.length, n - at), 8 + at);
      if (got === 0) throw new CheckpointError('truncated', name, `file ends at byte ${8 + at}, inside its ${n}-byte header`);
      parser.push(part.subarray(0, got));
      at += got;
    }
    return parser.end();
  } finally {
    await handle.close();
  }
}

// Loading a Hugging Face Mixtral checkpoint: config.json, then each safetensors file streamed
// once, front to back, copying the tensors the model needs as their bytes go by.
// Browser-, worker- and Node-safe: all I/O goes through a CheckpointSource.
import { parseConfig, type MixtralConfig } from '../config.ts';
import { CheckpointError } from '../errors.ts';
import type { MixtralWeights, TensorSpec } from '../weights.ts';
import { decodeInto, isDType, type DType } from './dtype.ts';
import { parseHeader, readHeaderLength, type TensorEntry } from './safetensors-header.ts';
import type { CheckpointSource } from './source.ts';
import { ExactReader, StreamReadFailure } from './stream-reader.ts';
import { assembleWeights, mixtralTensorSpecs } from './tensor-specs.ts';

export interface LoadProgress {
  /** Bytes of weight files consumed so far (read or skipped), over all files. */
  bytesDone: number;
  /** Sum of the weight files' sizes; grows while files of unknown size are opened. */
  bytesTotal: number;
  /** The file being read. */
  file: string;
}

export interface LoadOptions {
  /** Called per chunk received, and once at the end with bytesDone === bytesTotal. */
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

/** A tensor present in the files but not used by the model (rotary caches, extra heads, ...). */
export interface UnusedTensor { file: string; name: string; dtype: string; shape: number[] }

export interface LoadedCheckpoint {
  label: string;
  config: MixtralConfig;
  weights: MixtralWeights;
  /** Parsed tokenizer.json, or null when the checkpoint has none. */
  tokenizerJson: unknown | null;
  /** The files read: config.json, the weight files in reading order, tokenizer.json if present. */
  files: string[];
  /** Bytes stored per dtype over the tensors the model uses. */
  dtypeBytes: Record<string, number>;
  /** Tensors skipped because the model does not use them (any dtype, including unknown ones). */
  unusedTensors: UnusedTensor[];
}

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
export async function planWeightFiles(source: CheckpointSource): Promise<WeightPlan> {
  if (await source.has(SINGLE_FILE)) return { files: [SINGLE_FILE], weightMap: new Map() };
  if (await source.has(INDEX_FILE)) {
    const bad = (message: string): never => { throw new CheckpointError('bad-index', INDEX_FILE, message); };
    // Read outside the try: a failure to fetch the index (a network error) is not bad JSON.
    const text = await source.text(INDEX_FILE);
    let index: unknown;
    try { index = JSON.parse(text); } catch (e) {
      bad(`not valid JSON (${(e as Error).message})`);
    }
    if (typeof index !== 'object' || index === null || Array.isArray(index)) bad('must be a JSON object');
    const map = (index as { weight_map?: unknown }).weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) bad('missing "weight_map" object');
    const weightMap = new Map<string, string>();
    for (const [tensor, shard] of Object.entries(map as Record<string, unknown>)) {
      if (typeof shard !== 'string' || shard === '' || shard.includes('/') || shard.includes('\\') || shard === '.' || shard === '..') {
        bad(`weight_map gives "${tensor}" an invalid shard ${JSON.stringify(shard)}`);
      }
      weightMap.set(tensor, shard as string);
    }
    const shards = [...new Set(weightMap.values())].sort();
    if (shards.length === 0) bad('"weight_map" names no shards');
    for (const s of shards) {
      if (!(await source.has(s))) bad(`names shard "${s}", which is not in ${source.label}`);
    }
    return { files: shards, weightMap };
  }
  throw new CheckpointError('missing-file', SINGLE_FILE, `no ${SINGLE_FILE} or ${INDEX_FILE} in ${source.label}`);
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** A needed tensor's destination: filled from the stream, decoded when complete. */
function allocate(t: TensorEntry & { dtype: DType }): { out: Float32Array; raw: Uint8Array } {
  const count = t.shape.reduce((a, d) => a * d, 1);
  const out = new Float32Array(count);
  // F32 bytes go straight into the output's buffer; F16/BF16 need a staging buffer of their own.
  const raw = t.dtype === 'F32' ? new Uint8Array(out.buffer) : new Uint8Array(t.end - t.begin);
  return { out, raw };
}

/**
 * Load a Mixtral checkpoint from `source`: config.json, the safetensors weights (single file or
 * sharded through model.safetensors.index.json) and tokenizer.json when present.
 * Each weight file is streamed once, front to back. Throws CheckpointError for bad input, and
 * the signal's reason when aborted.
 */
export async function loadCheckpoint(source: CheckpointSource, options: LoadOptions = {}): Promise<LoadedCheckpoint> {
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  if (!(await source.has(CONFIG_FILE))) throw new CheckpointError('missing-file', CONFIG_FILE, `no ${CONFIG_FILE} in ${source.label}`);
  const config = parseConfig(await source.text(CONFIG_FILE));

  let tokenizerJson: unknown | null = null;
  if (await source.has(TOKENIZER_FILE)) {
    const text = await source.text(TOKENIZER_FILE);
    try { tokenizerJson = JSON.parse(text); } catch (e) {
      throw new CheckpointError('bad-tokenizer', TOKENIZER_FILE, `not valid JSON (${(e as Error).message})`);
    }
    if (typeof tokenizerJson !== 'object' || tokenizerJson === null || Array.isArray(tokenizerJson)) {
      throw new CheckpointError('bad-tokenizer', TOKENIZER_FILE, 'must be a JSON object');
    }
  }
  signal?.throwIfAborted();

  const { files, weightMap } = await planWeightFiles(source);
  // What the model reads, and what a checkpoint may store besides (lm_head under tied embeddings).
  const specs = new Map<string, TensorSpec>(mixtralTensorSpecs(config, { optional: true }).map((s) => [s.name, s]));
  const required = new Set(mixtralTensorSpecs(config).map((s) => s.name));

  const sizes = (await Promise.all(files.map((f) => source.size(f))))
    .map((s) => (typeof s === 'number' && Number.isSafeInteger(s) && s >= 0 ? s : undefined));
  let bytesTotal = sizes.reduce<number>((a, s) => a + (s ?? 0), 0);
  let bytesDone = 0;   // over all files, as consumed
  let reported = 0;    // what progress has said so far: never goes down

  const tensors = new Map<string, Float32Array>();
  const foundIn = new Map<string, string>(); // tensor -> file
  const dtypeBytes: Record<string, number> = {};
  const unusedTensors: UnusedTensor[] = [];

  for (let fi = 0; fi < files.length; fi++) {
    const file = files[fi];
    signal?.throwIfAborted();
    const report = (n: number) => {
      bytesDone += n;
      reported = Math.max(reported, Math.min(bytesDone, bytesTotal));
      onProgress?.({ bytesDone: reported, bytesTotal, file });
    };
    const stream = await source.stream(file);
    const reader = new ExactReader(stream, report, signal);
    let current: string | undefined; // the tensor being read, for error messages
    try {
      const first = await reader.read(8);
      const n = readHeaderLength(first, file, sizes[fi]);
      const headerBytes = await reader.read(n);
      if (headerBytes.length < n) {
        throw new CheckpointError('truncated', file, `file ends at byte ${reader.offset}, inside its ${n}-byte header`);
      }
      const header = parseHeader(headerBytes, file, sizes[fi]);
      if (sizes[fi] === undefined) {
        bytesTotal += header.impliedSize;
        if (bytesDone > bytesTotal) bytesTotal = bytesDone; // keep done <= total
      }

      // The tensors of this file the model needs, in the order their bytes appear.
      const wanted: (TensorEntry & { dtype: DType })[] = [];
      for (const t of header.tensors.values()) {
        const spec = specs.get(t.name);
        if (!spec) { unusedTensors.push({ file, name: t.name, dtype: t.dtype, shape: t.shape }); continue; }
        const previous = foundIn.get(t.name);
        if (previous !== undefined) {
          throw new CheckpointError('bad-index', file, `tensor is stored twice: in "${previous}" and in "${file}"`, t.name);
        }
        if (!isDType(t.dtype)) {
          throw new CheckpointError('unknown-dtype', file, `dtype "${t.dtype}" is not one of F32, F16, BF16`, t.name);
        }
        if (!sameShape(t.shape, spec.shape)) {
          throw new CheckpointError('shape-mismatch', file,
            `shape does not match config.json: expected [${spec.shape}], got [${t.shape}]`, t.name);
        }
        foundIn.set(t.name, file);
        wanted.push(t as TensorEntry & { dtype: DType });
      }
      wanted.sort((a, b) => a.begin - b.begin);

      for (const t of wanted) {
        current = t.name;
        const gap = t.begin - reader.offset;
        if (gap > 0 && (await reader.skip(gap)) < gap) {
          throw new CheckpointError('truncated', file, `file ends at byte ${reader.offset}, before this tensor starts at byte ${t.begin}`, t.name);
        }
        const { out, raw } = allocate(t);
        const got = await reader.readInto(raw);
        if (got < raw.length) {
          throw new CheckpointError('truncated', file, `file ends at byte ${reader.offset}, inside this tensor (bytes ${t.begin}..${t.end})`, t.name);
        }
        if (t.dtype !== 'F32') decodeInto(raw, t.dtype, out, 0);
        tensors.set(t.name, out);
        dtypeBytes[t.dtype] = (dtypeBytes[t.dtype] ?? 0) + raw.length;
      }
      current = undefined;
      // A file shorter than its header says is broken even if the missing bytes were not needed.
      const end = header.impliedSize;
      if (reader.offset < end) await reader.skip(end - reader.offset);
      if (reader.offset < end) {
        const at = reader.offset;
        const cut = [...header.tensors.values()].find((t) => t.begin <= at && at < t.end);
        throw new CheckpointError('truncated', file, `file ends at byte ${at}, but its header describes ${end} bytes`, cut?.name);
      }
    } catch (e) {
      if (e instanceof StreamReadFailure) {
        throw new CheckpointError('truncated', file, e.message, current);
      }
      throw e;
    } finally {
      await reader.cancel();
    }
  }
  signal?.throwIfAborted();
  bytesTotal = Math.max(bytesTotal, bytesDone);
  onProgress?.({ bytesDone: bytesTotal, bytesTotal, file: files[files.length - 1] });

  for (const name of specs.keys()) {
    if (tensors.has(name) || !required.has(name)) continue;
    const indexed = weightMap.get(name);
    const hint = indexed !== undefined ? `; the index places it in "${indexed}"` : weightMap.size ? '; the index does not list it' : '';
    throw new CheckpointError('missing-tensor', files.join(', '), `tensor is in none of the files searched (${files.join(', ')})${hint}`, name);
  }
  return {
    label: source.label,
    config,
    weights: assembleWeights(config, tensors),
    tokenizerJson,
    files: [CONFIG_FILE, ...files, ...(tokenizerJson !== null ? [TOKENIZER_FILE] : [])],
    dtypeBytes,
    unusedTensors,
  };
}

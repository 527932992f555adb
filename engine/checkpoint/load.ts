// Loading a Hugging Face Mixtral checkpoint: config.json, then each safetensors file streamed
// once, front to back, copying the tensors the model needs as their bytes go by.
// Browser-, worker- and Node-safe: all I/O goes through a CheckpointSource.
//
// Everything read is untrusted, so work stays bounded by what the files hold, never by what
// they claim: JSON files are size- and depth-checked before parsing (json-limits.ts), headers
// are parsed as they stream (safetensors-header.ts), the config's sizes are checked against the
// weight files' sizes before any weight is read, each header's tensors are looked up by name
// rather than by listing every tensor the config describes, memory is counted before it is
// asked for, and every weight is checked to be a finite number as it arrives.
import { parseConfig, type MixtralConfig } from '../config.ts';
import { CheckpointError, excerpt } from '../errors.ts';
import { countParameters } from '../params.ts';
import type { MixtralWeights } from '../weights.ts';
import { decodeInto, isDType, type DType } from './dtype.ts';
import { JSON_LIMITS, readJsonFile } from './json-limits.ts';
import { HeaderParser, LISTED, readHeaderLength, type TensorEntry } from './safetensors-header.ts';
import type { CheckpointSource } from './source.ts';
import { ExactReader, StreamReadFailure } from './stream-reader.ts';
import { assembleWeights, eachTensorSpec, tensorCount, tensorSpecFor } from './tensor-specs.ts';

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
  /** Aborts reading (fetches, streams, parsing) at once: the load rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * The most bytes of weights to hold, as float32 (the engine's layout). Checked tensor by tensor
   * before each is allocated, so a checkpoint too large fails naming the tensor that would cross
   * it, not with the platform's "allocation failed". Default: no limit of the loader's own (an
   * allocation the platform refuses is still reported with the tensor's name).
   */
  maxWeightBytes?: number;
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
  /** Tensors skipped because the model does not use them (any dtype, including unknown ones): the first 1000. */
  unusedTensors: UnusedTensor[];
  /** How many tensors were skipped in all. */
  unusedCount: number;
}

export const CONFIG_FILE = 'config.json';
export const TOKENIZER_FILE = 'tokenizer.json';
export const INDEX_FILE = 'model.safetensors.index.json';
export const SINGLE_FILE = 'model.safetensors';

interface WeightPlan {
  files: string[];
  /** Tensor -> shard, from the index (empty for a single file). */
  weightMap: Map<string, string>;
}

/**
 * Which safetensors files to read: the single file when there is one (Hugging Face's own order,
 * and it spares a browser a 404 for the index), else the shards an index names.
 */
async function planWeightFiles(source: CheckpointSource, signal?: AbortSignal): Promise<WeightPlan> {
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

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** A needed tensor's destination: filled from the stream, decoded when complete. */
function allocate(t: TensorEntry & { dtype: DType }, file: string): { out: Float32Array; raw: Uint8Array } {
  const count = t.shape.reduce((a, d) => a * d, 1);
  try {
    const out = new Float32Array(count);
    // F32 bytes go straight into the output's buffer; F16/BF16 need a staging buffer of their own.
    const raw = t.dtype === 'F32' ? new Uint8Array(out.buffer) : new Uint8Array(t.end - t.begin);
    return { out, raw };
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new CheckpointError('too-large', file, `${bytes(4 * count)} as float32 (shape [${t.shape}]): this engine could not allocate it (${e.message.slice(0, 60)})`, t.name);
  }
}

/** 512 B, 1.5 MB, 17.2 GB: sizes in messages. */
export function bytes(n: number): string {
  if (n < 1e3) return `${n} B`;
  const [unit, d] = n < 1e6 ? ['kB', 1e3] : n < 1e9 ? ['MB', 1e6] : n < 1e12 ? ['GB', 1e9] : ['TB', 1e12];
  return `${(n / d).toFixed(1)} ${unit}`;
}

/** The first element that is NaN or infinite, or -1: x - x is 0 for every finite x. */
export function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (x - x !== 0) return i;
  }
  return -1;
}

/** Flat index `i` of a tensor of `shape` as [row, column, ...]. */
function position(i: number, shape: readonly number[]): number[] {
  const at = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { at[d] = i % shape[d]; i = Math.floor(i / shape[d]); }
  return at;
}

/** "a.safetensors, b.safetensors", or the first and last of many. */
function fileList(files: readonly string[]): string {
  const names = files.map((f) => (f.length > 60 ? excerpt(f, 60) : f));
  return names.length <= 3 ? names.join(', ') : `${names[0]} ... ${names.at(-1)} (${names.length} files)`;
}

/**
 * Load a Mixtral checkpoint from `source`: config.json, the safetensors weights (single file or
 * sharded through model.safetensors.index.json) and tokenizer.json when present.
 * Each weight file is streamed once, front to back. Throws CheckpointError for bad input, and
 * the signal's reason when aborted.
 */
export async function loadCheckpoint(source: CheckpointSource, options: LoadOptions = {}): Promise<LoadedCheckpoint> {
  const { signal, onProgress } = options;
  const maxWeightBytes = options.maxWeightBytes ?? Infinity;
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

  const { files, weightMap } = await planWeightFiles(source, signal);
  // What the model reads, looked up name by name (lm_head is optional under tied embeddings).
  const specOf = (name: string) => tensorSpecFor(config, name, { optional: true });

  const sizes = (await Promise.all(files.map((f) => source.size(f))))
    .map((s) => (typeof s === 'number' && Number.isSafeInteger(s) && s >= 0 ? s : undefined));
  let bytesTotal = sizes.reduce<number>((a, s) => a + (s ?? 0), 0);
  let bytesDone = 0;   // over all files, as consumed
  let reported = 0;    // what progress has said so far: never goes down

  const tensors = new Map<string, Float32Array>();
  const foundIn = new Map<string, string>(); // tensor -> file
  const dtypeBytes: Record<string, number> = {};
  const unusedTensors: UnusedTensor[] = [];
  let unusedCount = 0;
  let heldBytes = 0; // float32 bytes of the tensors taken so far

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
      // The header is parsed as it arrives: a hostile one fails at its first bad byte.
      const parser = new HeaderParser(file, n, { fileSize: sizes[fi], keep: (name) => specOf(name) !== null });
      for (let left = n; left > 0;) {
        const part = await reader.next(Math.min(left, 1 << 20));
        if (!part) throw new CheckpointError('truncated', file, `file ends at byte ${reader.offset}, inside its ${n}-byte header`);
        parser.push(part);
        left -= part.length;
      }
      const header = parser.end();
      // Once the first header has been read whole (its own faults come first), and before any
      // weight is: the model the config describes must fit in the files.
      if (fi === 0) checkConfigAgainstFiles(config, files, files.length === 1 ? [sizes[0] ?? header.impliedSize] : sizes);
      if (sizes[fi] === undefined) {
        bytesTotal += header.impliedSize;
        if (bytesDone > bytesTotal) bytesTotal = bytesDone; // keep done <= total
      }
      unusedCount += header.count - header.tensors.size;
      for (const o of header.others) if (unusedTensors.length < LISTED) unusedTensors.push({ file, ...o });

      // The tensors of this file the model needs, in the order their bytes appear.
      const wanted: (TensorEntry & { dtype: DType })[] = [];
      for (const t of header.tensors.values()) {
        const spec = specOf(t.name)!;
        const previous = foundIn.get(t.name);
        if (previous !== undefined) {
          throw new CheckpointError('bad-index', file, `tensor is stored twice: in ${excerpt(previous, 60)} and in ${excerpt(file, 60)}`, t.name);
        }
        if (!isDType(t.dtype)) {
          throw new CheckpointError('unknown-dtype', file, `dtype ${excerpt(t.dtype, 40)} is not one of F32, F16, BF16`, t.name);
        }
        if (!sameShape(t.shape, spec.shape)) {
          throw new CheckpointError('shape-mismatch', file,
            `shape does not match config.json: expected [${spec.shape}], got ${shapeText(t.shape)}`, t.name);
        }
        // Memory is counted before it is asked for: the tensor that would cross the limit is named.
        const f32 = 4 * t.shape.reduce((a, d) => a * d, 1);
        if (heldBytes + f32 > maxWeightBytes) {
          const params = countParameters(config).total;
          throw new CheckpointError('too-large', file,
            `${bytes(f32)} as float32 (shape [${t.shape}]) would bring the weights held to ${bytes(heldBytes + f32)}, over the ${bytes(maxWeightBytes)} this engine holds (the model has ${params.toPrecision(3)} parameters: ${bytes(4 * params)} as float32)`, t.name);
        }
        heldBytes += f32;
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
        const { out, raw } = allocate(t, file);
        const got = await reader.readInto(raw);
        if (got < raw.length) {
          throw new CheckpointError('truncated', file, `file ends at byte ${reader.offset}, inside this tensor (bytes ${t.begin}..${t.end})`, t.name);
        }
        if (t.dtype !== 'F32') decodeInto(raw, t.dtype, out, 0);
        const bad = firstNonFinite(out);
        if (bad >= 0) {
          const v = out[bad];
          throw new CheckpointError('non-finite', file,
            `holds ${Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'} at [${position(bad, t.shape)}] (flat index ${bad} of ${out.length}): weights must be finite numbers`, t.name);
        }
        tensors.set(t.name, out);
        dtypeBytes[t.dtype] = (dtypeBytes[t.dtype] ?? 0) + raw.length;
      }
      current = undefined;
      // A file shorter than its header says is broken even if the missing bytes were not needed.
      const end = header.impliedSize;
      if (reader.offset < end) await reader.skip(end - reader.offset);
      if (reader.offset < end) {
        const at = reader.offset;
        throw new CheckpointError('truncated', file, `file ends at byte ${at}, but its header describes ${end} bytes`, header.tensorAt(at));
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

  // The first tensor the config describes that no file holds. Every tensor found stands for a
  // header entry, so this stops within (entries + 1) steps however many layers the config claims.
  for (const spec of eachTensorSpec(config)) {
    if (tensors.has(spec.name)) continue;
    const name = spec.name;
    const indexed = weightMap.get(name);
    const hint = indexed !== undefined ? `; the index places it in ${excerpt(indexed, 60)}` : weightMap.size ? '; the index does not list it' : '';
    const found = tensors.size - (config.tie_word_embeddings && tensors.has('lm_head.weight') ? 1 : 0);
    const counts = `; config.json describes ${tensorCount(config)} tensors (${config.num_hidden_layers} layers of ${config.num_local_experts} experts), the files hold ${found} of them`;
    throw new CheckpointError('missing-tensor', fileList(files), `tensor is in none of the files searched (${fileList(files)})${hint}${counts}`, name);
  }
  return {
    label: source.label,
    config,
    weights: assembleWeights(config, tensors),
    tokenizerJson,
    files: [CONFIG_FILE, ...files, ...(tokenizerJson !== null ? [TOKENIZER_FILE] : [])],
    dtypeBytes,
    unusedTensors,
    unusedCount,
  };
}

/**
 * A config is untrusted: before any weight is read, the model it describes must fit the files
 * in hand. Every parameter takes at least 2 bytes (F16, BF16), so a config claiming 10^8 layers
 * over a 1 MB file fails here, at once, instead of after building 10^8 layers of anything.
 */
function checkConfigAgainstFiles(config: MixtralConfig, files: readonly string[], sizes: readonly (number | undefined)[]): void {
  if (sizes.some((s) => s === undefined)) return; // checked tensor by tensor as the headers arrive
  const held = sizes.reduce<number>((a, s) => a + s!, 0);
  const params = countParameters(config).total;
  if (2 * params > held) {
    const c = config;
    throw new CheckpointError('bad-config', CONFIG_FILE,
      `describes ${params.toPrecision(3)} parameters (${c.num_hidden_layers} layers, ${c.num_local_experts} experts, hidden ${c.hidden_size}, vocab ${c.vocab_size}): at least ${bytes(2 * params)}, but ${fileList(files)} hold ${bytes(held)}`);
  }
}

/** A shape found in a file, for a message: short however long it is. */
function shapeText(shape: readonly number[]): string {
  const text = `[${shape}]`;
  return text.length <= 80 ? text : `${text.slice(0, 80)}... (${shape.length} dimensions)`;
}

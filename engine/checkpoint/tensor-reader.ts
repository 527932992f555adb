// Reading a checkpoint one tensor at a time: each safetensors file streamed once, front to back,
// and each tensor handed over as its own bytes at the width they are stored (F32, F16, BF16),
// never the whole model at once. What the consumer does with a tensor (keep it at stored width,
// convert it, quantize it, upload it to a GPU and drop it) decides the memory a load takes: a
// consumer that keeps nothing holds one tensor plus one stream chunk.
// Browser-, worker- and Node-safe: all I/O goes through a CheckpointSource (a folder, a URL,
// files chosen in a browser, the Hub with or without its cache).
//
// Everything read is untrusted, and every loader reads through here: headers are parsed as they
// stream with their bounds (safetensors-header.ts), the config's sizes are checked against the
// weight files before any weight is read, each header's tensors are looked up by name, a tensor's
// shape must be the config's, memory is counted (`admit`) before it is asked for, and every
// tensor handed over holds finite numbers only.
import type { MixtralConfig } from '../config.ts';
import { CheckpointError, excerpt } from '../errors.ts';
import { isDType, type DType } from './dtype.ts';
import { checkConfigAgainstFiles, planWeightFiles, bytes as sizeText, type WeightPlan } from './checkpoint-files.ts';
import { checkFiniteStored } from './finite.ts';
import { HeaderParser, LISTED, readHeaderLength, type TensorEntry } from './safetensors-header.ts';
import type { CheckpointSource } from './source.ts';
import { ExactReader, StreamReadFailure } from './stream-reader.ts';
import { tensorSpecFor } from './tensor-specs.ts';

export interface LoadProgress {
  /** Bytes of weight files consumed so far (read or skipped), over all files. */
  bytesDone: number;
  /** Sum of the weight files' sizes; grows while files of unknown size are opened. */
  bytesTotal: number;
  /** The file being read. */
  file: string;
}

/** One tensor as stored: little-endian bytes of `dtype`, row-major in `shape`. Owned by the consumer. */
export interface StoredTensor {
  name: string;
  file: string;
  dtype: DType;
  shape: number[];
  bytes: Uint8Array;
}

/** A tensor present in the files but not used by the model (rotary caches, extra heads, ...). */
export interface UnusedTensor { file: string; name: string; dtype: string; shape: number[] }

/** What a read found besides the tensors handed over; filled in as the files go by. */
export interface TensorReadReport {
  plan: WeightPlan;
  /** Bytes stored per dtype over the tensors handed over. */
  dtypeBytes: Record<string, number>;
  /** Tensors skipped because they were not wanted: the first 1000. */
  unusedTensors: UnusedTensor[];
  /** How many tensors were skipped in all. */
  unusedCount: number;
  /** How many tensors were handed over. */
  handed: number;
}

export interface TensorReadOptions {
  /**
   * The model the files must hold: only its tensors are handed over (the rest are skipped as
   * their bytes go by), each with the config's shape, and the config's size is checked against
   * the files before any weight is read.
   */
  config?: MixtralConfig;
  /** Without a config: which tensors to hand over (default all). */
  wanted?: (name: string) => boolean;
  /**
   * Called for each tensor to be handed over, once its file's header is read and before any of
   * that file's weights are: throw to refuse it (a memory limit names the tensor that crosses it).
   */
  admit?: (t: TensorEntry & { dtype: DType }, file: string) => void;
  /** Called per chunk received, and once at the end with bytesDone === bytesTotal. */
  onProgress?: (p: LoadProgress) => void;
  /** Aborts reading (fetches, streams, parsing) at once: the read rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Filled in as the read goes (the plan once the files are known). */
  report?: Partial<TensorReadReport>;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** A shape found in a file, for a message: short however long it is. */
function shapeText(shape: readonly number[]): string {
  const text = `[${shape}]`;
  return text.length <= 80 ? text : `${text.slice(0, 80)}... (${shape.length} dimensions)`;
}

/**
 * The tensors of `source`'s weights (model.safetensors, or the shards its index names), in file
 * order and, within a file, in the order their bytes appear. Throws CheckpointError naming the
 * file and tensor for bad input (a hostile header, a truncated file, an unknown dtype, a tensor
 * stored twice, a shape not the config's, a NaN or infinity), and the signal's reason when aborted.
 */
export async function* readTensors(source: CheckpointSource, options: TensorReadOptions = {}): AsyncGenerator<StoredTensor, void, void> {
  const { config, admit, onProgress, signal } = options;
  const specOf = (name: string) => (config ? tensorSpecFor(config, name, { optional: true }) : null);
  const wanted = config ? (name: string) => specOf(name) !== null : options.wanted ?? (() => true);
  const report: TensorReadReport = Object.assign(options.report ?? {}, {
    plan: { files: [], weightMap: new Map() }, dtypeBytes: {}, unusedTensors: [], unusedCount: 0, handed: 0,
  });
  signal?.throwIfAborted();
  const plan = await planWeightFiles(source, signal);
  report.plan = plan;
  const { files } = plan;
  const sizes = (await Promise.all(files.map((f) => source.size(f))))
    .map((s) => (typeof s === 'number' && Number.isSafeInteger(s) && s >= 0 ? s : undefined));
  let bytesTotal = sizes.reduce<number>((a, s) => a + (s ?? 0), 0);
  let bytesDone = 0;   // over all files, as consumed
  let reported = 0;    // what progress has said so far: never goes down
  const foundIn = new Map<string, string>(); // tensor -> file

  for (let fi = 0; fi < files.length; fi++) {
    const file = files[fi];
    signal?.throwIfAborted();
    const reader = new ExactReader(await source.stream(file), (n) => {
      bytesDone += n;
      reported = Math.max(reported, Math.min(bytesDone, bytesTotal));
      onProgress?.({ bytesDone: reported, bytesTotal, file });
    }, signal);
    let current: string | undefined; // the tensor being read, for error messages
    try {
      const n = readHeaderLength(await reader.read(8), file, sizes[fi]);
      // The header is parsed as it arrives: a hostile one fails at its first bad byte.
      const parser = new HeaderParser(file, n, { fileSize: sizes[fi], keep: wanted });
      for (let left = n; left > 0;) {
        const part = await reader.next(Math.min(left, 1 << 20));
        if (!part) throw new CheckpointError('truncated', file, `file ends at byte ${reader.offset}, inside its ${n}-byte header`);
        parser.push(part);
        left -= part.length;
      }
      const header = parser.end();
      // Once the first header has been read whole (its own faults come first), and before any
      // weight is: the model the config describes must fit in the files.
      if (fi === 0 && config) checkConfigAgainstFiles(config, files, files.length === 1 ? [sizes[0] ?? header.impliedSize] : sizes);
      if (sizes[fi] === undefined) {
        bytesTotal += header.impliedSize;
        if (bytesDone > bytesTotal) bytesTotal = bytesDone; // keep done <= total
      }
      report.unusedCount += header.count - header.tensors.size;
      for (const o of header.others) if (report.unusedTensors.length < LISTED) report.unusedTensors.push({ file, ...o });

      // The tensors of this file to hand over, checked before any is read, in the order their bytes appear.
      const taken: (TensorEntry & { dtype: DType })[] = [];
      for (const t of header.tensors.values()) {
        const previous = foundIn.get(t.name);
        if (previous !== undefined) {
          throw new CheckpointError('bad-index', file, `tensor is stored twice: in ${excerpt(previous, 60)} and in ${excerpt(file, 60)}`, t.name);
        }
        if (!isDType(t.dtype)) {
          throw new CheckpointError('unknown-dtype', file, `dtype ${excerpt(t.dtype, 40)} is not one of F32, F16, BF16`, t.name);
        }
        const spec = specOf(t.name);
        if (spec && !sameShape(t.shape, spec.shape)) {
          throw new CheckpointError('shape-mismatch', file,
            `shape does not match config.json: expected [${spec.shape}], got ${shapeText(t.shape)}`, t.name);
        }
        admit?.(t as TensorEntry & { dtype: DType }, file);
        foundIn.set(t.name, file);
        taken.push(t as TensorEntry & { dtype: DType });
      }
      taken.sort((a, b) => a.begin - b.begin);

      for (const t of taken) {
        current = t.name;
        const gap = t.begin - reader.offset;
        if (gap > 0 && (await reader.skip(gap)) < gap) {
          throw new CheckpointError('truncated', file, `file ends at byte ${reader.offset}, before this tensor starts at byte ${t.begin}`, t.name);
        }
        const raw = allocate(t.end - t.begin, t, file);
        if ((await reader.readInto(raw)) < raw.length) {
          throw new CheckpointError('truncated', file, `file ends at byte ${reader.offset}, inside this tensor (bytes ${t.begin}..${t.end})`, t.name);
        }
        checkFiniteStored(raw, t.dtype, t.shape, file, t.name);
        report.dtypeBytes[t.dtype] = (report.dtypeBytes[t.dtype] ?? 0) + raw.length;
        report.handed++;
        yield { name: t.name, file, dtype: t.dtype, shape: t.shape, bytes: raw };
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
      if (e instanceof StreamReadFailure) throw new CheckpointError('truncated', file, e.message, current);
      throw e;
    } finally {
      await reader.cancel();
    }
  }
  signal?.throwIfAborted();
  bytesTotal = Math.max(bytesTotal, bytesDone);
  onProgress?.({ bytesDone: bytesTotal, bytesTotal, file: files[files.length - 1] });
}

/** A tensor's bytes, fresh and aligned (an F32 tensor's can be viewed as floats without a copy). */
function allocate(n: number, t: TensorEntry, file: string): Uint8Array {
  try {
    return new Uint8Array(n);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new CheckpointError('too-large', file, `${sizeText(n)} as stored (shape [${t.shape}]): this engine could not allocate it (${e.message.slice(0, 60)})`, t.name);
  }
}

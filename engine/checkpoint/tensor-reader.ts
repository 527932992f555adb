// Reading a checkpoint one tensor at a time: each safetensors file streamed once, front to back,
// and each tensor handed over as its own bytes at the width they are stored (F32, F16, BF16),
// never the whole model at once. What the consumer does with a tensor (keep it at stored width,
// convert it, quantize it, upload it to a GPU and drop it) decides the memory a load takes: a
// consumer that keeps nothing holds one tensor plus one stream chunk.
// Browser-, worker- and Node-safe: all I/O goes through a CheckpointSource (a folder, a URL,
// files chosen in a browser, the Hub with or without its cache).
import { CheckpointError } from '../errors.ts';
import { isDType, type DType } from './dtype.ts';
import { planWeightFiles, type LoadProgress } from './load.ts';
import { parseHeader, readHeaderLength } from './safetensors-header.ts';
import type { CheckpointSource } from './source.ts';
import { ExactReader, StreamReadFailure } from './stream-reader.ts';

/** One tensor as stored: little-endian bytes of `dtype`, row-major in `shape`. Owned by the consumer. */
export interface StoredTensor {
  name: string;
  file: string;
  dtype: DType;
  shape: number[];
  bytes: Uint8Array;
}

export interface TensorReadOptions {
  /** Which tensors to hand over (default all); the others are skipped as their bytes go by. */
  wanted?: (name: string) => boolean;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

/**
 * The tensors of `source`'s weights (model.safetensors, or the shards its index names), in file
 * order and, within a file, in the order their bytes appear. Throws CheckpointError naming the
 * file and tensor for a truncated file, an unknown dtype or a tensor stored twice.
 */
export async function* readTensors(source: CheckpointSource, options: TensorReadOptions = {}): AsyncGenerator<StoredTensor, void, void> {
  const { wanted = () => true, onProgress, signal } = options;
  signal?.throwIfAborted();
  const { files } = await planWeightFiles(source);
  const sizes = await Promise.all(files.map((f) => source.size(f)));
  let bytesTotal = sizes.reduce<number>((a, s) => a + (s ?? 0), 0);
  let bytesDone = 0;
  const seen = new Map<string, string>();
  for (let fi = 0; fi < files.length; fi++) {
    const file = files[fi];
    const reader = new ExactReader(await source.stream(file), (n) => {
      bytesDone += n;
      onProgress?.({ bytesDone: Math.min(bytesDone, bytesTotal), bytesTotal, file });
    }, signal);
    let current: string | undefined;
    try {
      const n = readHeaderLength(await reader.read(8), file, sizes[fi]);
      const headerBytes = await reader.read(n);
      if (headerBytes.length < n) throw new CheckpointError('truncated', file, `file ends at byte ${reader.offset}, inside its ${n}-byte header`);
      const header = parseHeader(headerBytes, file, sizes[fi]);
      if (sizes[fi] === undefined) bytesTotal += header.impliedSize;
      const tensors = [...header.tensors.values()].filter((t) => wanted(t.name)).sort((a, b) => a.begin - b.begin);
      for (const t of tensors) {
        current = t.name;
        const before = seen.get(t.name);
        if (before !== undefined) throw new CheckpointError('bad-index', file, `tensor is stored twice: in "${before}" and in "${file}"`, t.name);
        seen.set(t.name, file);
        if (!isDType(t.dtype)) throw new CheckpointError('unknown-dtype', file, `dtype "${t.dtype}" is not one of F32, F16, BF16`, t.name);
        const gap = t.begin - reader.offset;
        if (gap > 0 && (await reader.skip(gap)) < gap) {
          throw new CheckpointError('truncated', file, `file ends at byte ${reader.offset}, before this tensor starts at byte ${t.begin}`, t.name);
        }
        const bytes = new Uint8Array(t.end - t.begin);
        if ((await reader.readInto(bytes)) < bytes.length) {
          throw new CheckpointError('truncated', file, `file ends at byte ${reader.offset}, inside this tensor (bytes ${t.begin}..${t.end})`, t.name);
        }
        yield { name: t.name, file, dtype: t.dtype, shape: t.shape, bytes };
      }
      current = undefined;
      const end = header.impliedSize;
      if (reader.offset < end) await reader.skip(end - reader.offset);
      if (reader.offset < end) throw new CheckpointError('truncated', file, `file ends at byte ${reader.offset}, but its header describes ${end} bytes`);
    } catch (e) {
      if (e instanceof StreamReadFailure) throw new CheckpointError('truncated', file, e.message, current);
      throw e;
    } finally {
      await reader.cancel();
    }
  }
  onProgress?.({ bytesDone: Math.max(bytesDone, bytesTotal), bytesTotal: Math.max(bytesDone, bytesTotal), file: files[files.length - 1] });
}

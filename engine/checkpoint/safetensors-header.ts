// Parsing and checking a safetensors header: an 8-byte little-endian length N, then N bytes of
// JSON {name: {dtype, shape, data_offsets: [begin, end]}} with offsets relative to the data
// section that follows. Every way a header can lie is caught here, naming file and tensor.
import { CheckpointError } from '../errors.ts';
import { DTYPE_BYTES, isDType, type DType } from './dtype.ts';

export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  /** Where the data section starts (8 + N). */
  dataStart: number;
  /** Size of the file as the header implies (end of the last tensor). */
  impliedSize: number;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string> | null;
}

/** Header length from the first 8 bytes; throws if it cannot fit in a file of `fileSize` bytes. */
export function readHeaderLength(first8: Uint8Array, file: string, fileSize: number | undefined): number {
  if (first8.length < 8) throw new CheckpointError('truncated', file, `file is ${first8.length} bytes, too short for a safetensors header`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  const limit = fileSize !== undefined ? fileSize - 8 : 100 * 1024 * 1024;
  if (n > BigInt(limit)) {
    throw new CheckpointError('header-too-large', file, fileSize !== undefined
      ? `header length ${n} is larger than the file allows (${limit} bytes after the length field)`
      : `header length ${n} exceeds the 100 MiB limit`);
  }
  return Number(n);
}

export function parseHeader(json: Uint8Array, file: string, fileSize: number | undefined): SafetensorsHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw new CheckpointError('header-not-json', file, `header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CheckpointError('header-not-json', file, 'header is JSON but not an object');
  }
  const dataStart = 8 + json.length;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> | null = null;
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') { metadata = v as Record<string, string>; continue; }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const bad = (what: string) => new CheckpointError('bad-header', file, what, name);
    if (typeof e !== 'object' || e === null) throw bad('entry is not an object');
    if (typeof e.dtype !== 'string') throw bad('missing "dtype"');
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad('"shape" must be a list of non-negative integers');
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad('"data_offsets" must be [begin, end] non-negative integers');
    }
    const [b, en] = off as [number, number];
    if (en < b) throw new CheckpointError('offsets-out-of-range', file, `data_offsets [${b}, ${en}] end before they begin`, name);
    if (isDType(e.dtype)) {
      const expected = (e.shape as number[]).reduce((a, d) => a * d, 1) * DTYPE_BYTES[e.dtype as DType];
      if (en - b !== expected) {
        throw new CheckpointError('offsets-out-of-range', file, `data_offsets [${b}, ${en}] hold ${en - b} bytes but ${e.dtype} shape [${e.shape}] needs ${expected}`, name);
      }
    }
    tensors.set(name, { name, dtype: e.dtype, shape: e.shape as number[], begin: dataStart + b, end: dataStart + en });
  }
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1], cur = sorted[i];
    if (cur.begin < prev.end && cur.end > cur.begin) {
      throw new CheckpointError('offsets-overlap', file, `bytes of "${cur.name}" overlap those of "${prev.name}"`, cur.name);
    }
  }
  const impliedSize = sorted.reduce((m, t) => Math.max(m, t.end), dataStart);
  if (fileSize !== undefined && impliedSize > fileSize) {
    // Tensors that tile the data section without gaps describe a file that was cut short;
    // anything else is a header pointing where no data can be.
    const contiguous = sorted.every((t, i) => t.begin === (i === 0 ? dataStart : sorted[i - 1].end));
    if (contiguous) {
      const cut = sorted.find((t) => t.end > fileSize)!;
      throw new CheckpointError('truncated', file, `file is ${fileSize} bytes but its header describes ${impliedSize}; it ends inside this tensor (bytes ${cut.begin}..${cut.end})`, cut.name);
    }
    const worst = sorted.reduce((a, t) => (t.end > a.end ? t : a));
    throw new CheckpointError('offsets-out-of-range', file, `data_offsets [${worst.begin - dataStart}, ${worst.end - dataStart}] run past the end of the file (data section is ${fileSize - dataStart} bytes)`, worst.name);
  }
  return { file, dataStart, impliedSize, tensors, metadata };
}

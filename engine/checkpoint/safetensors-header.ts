// Parsing and checking a safetensors header: an 8-byte little-endian length N, then N bytes of
// JSON {name: {dtype, shape, data_offsets: [begin, end]}} with offsets relative to the data
// section that follows. Every way a header can lie is caught here, naming file and tensor.
// Pure: no I/O, runs anywhere.
import { CheckpointError } from '../errors.ts';
import { DTYPE_BYTES, isDType } from './dtype.ts';

/** The largest header accepted when the file size is unknown (the safetensors library's own limit). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorEntry {
  name: string;
  /** As written in the header; may be a dtype this engine does not decode (see `isDType`). */
  dtype: string;
  shape: number[];
  /** Absolute byte range in the file: [begin, end). */
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
  /** Tensors whose dtype is not F32, F16 or BF16: fine unless the model needs them. */
  unknownDtypes: string[];
}

/** Header length from the first 8 bytes; throws if it cannot fit in a file of `fileSize` bytes. */
export function readHeaderLength(first8: Uint8Array, file: string, fileSize: number | undefined): number {
  if (first8.length < 8 || (fileSize !== undefined && fileSize < 8)) {
    const have = fileSize !== undefined ? Math.min(fileSize, first8.length) : first8.length;
    throw new CheckpointError('truncated', file, `file is ${have} bytes, too short for the 8-byte safetensors header length`);
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  const limit = fileSize !== undefined ? fileSize - 8 : MAX_HEADER_BYTES;
  if (n > BigInt(limit)) {
    throw new CheckpointError('header-too-large', file, fileSize !== undefined
      ? `header length ${n} is larger than the file allows (${limit} bytes after the length field)`
      : `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  return Number(n);
}

const describe = (v: unknown) => JSON.stringify(v) ?? String(v);

/**
 * Parse and check the N header bytes (those after the 8-byte length) of `file`.
 * `fileSize`, when known, lets offsets past the end of the file be caught before streaming.
 */
export function parseHeader(json: Uint8Array, file: string, fileSize: number | undefined): SafetensorsHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw new CheckpointError('header-not-json', file, `header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new CheckpointError('header-not-json', file, `header is JSON but not an object (${Array.isArray(raw) ? 'an array' : describe(raw)})`);
  }
  const dataStart = 8 + json.length;
  const tensors = new Map<string, TensorEntry>();
  const unknownDtypes: string[] = [];
  let metadata: Record<string, string> | null = null;
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    const bad = (what: string) => new CheckpointError('bad-header', file, what, name);
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`"__metadata__" must be an object, got ${describe(v)}`);
      metadata = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, typeof x === 'string' ? x : describe(x)]));
      continue;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`entry must be an object, got ${describe(v)}`);
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e.dtype === undefined) throw bad('entry has no "dtype"');
    if (typeof e.dtype !== 'string') throw bad(`"dtype" must be a string, got ${describe(e.dtype)}`);
    if (e.shape === undefined) throw bad('entry has no "shape"');
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`"shape" must be a list of non-negative integers, got ${describe(e.shape)}`);
    }
    const off = e.data_offsets;
    if (off === undefined) throw bad('entry has no "data_offsets"');
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`"data_offsets" must be [begin, end] non-negative integers, got ${describe(off)}`);
    }
    const shape = e.shape as number[];
    const [b, en] = off as [number, number];
    if (en < b) throw new CheckpointError('offsets-out-of-range', file, `data_offsets [${b}, ${en}] end before they begin`, name);
    if (isDType(e.dtype)) {
      const expected = shape.reduce((a, d) => a * d, 1) * DTYPE_BYTES[e.dtype];
      if (en - b !== expected) {
        throw new CheckpointError('offsets-out-of-range', file,
          `data_offsets [${b}, ${en}] hold ${en - b} bytes but ${e.dtype} shape [${shape}] needs ${expected}`, name);
      }
    } else {
      unknownDtypes.push(name);
    }
    tensors.set(name, { name, dtype: e.dtype, shape, begin: dataStart + b, end: dataStart + en });
  }

  // Overlaps: sweep in order of start, remembering the furthest end seen so far (a long tensor
  // can overlap several later ones). Empty tensors occupy no bytes and overlap nothing.
  const sorted = [...tensors.values()].filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin || a.end - b.end);
  let reach: TensorEntry | null = null;
  for (const cur of sorted) {
    if (reach && cur.begin < reach.end) {
      throw new CheckpointError('offsets-overlap', file,
        `bytes [${cur.begin - dataStart}, ${cur.end - dataStart}) overlap those of "${reach.name}" [${reach.begin - dataStart}, ${reach.end - dataStart})`, cur.name);
    }
    if (!reach || cur.end > reach.end) reach = cur;
  }

  const impliedSize = sorted.reduce((m, t) => Math.max(m, t.end), dataStart);
  if (fileSize !== undefined && impliedSize > fileSize) {
    // Tensors that tile the data section without gaps describe a file that was cut short;
    // anything else is a header pointing where no data can be.
    const contiguous = sorted.every((t, i) => t.begin === (i === 0 ? dataStart : sorted[i - 1].end));
    if (contiguous) {
      const cut = sorted.find((t) => t.end > fileSize)!;
      throw new CheckpointError('truncated', file,
        `file is ${fileSize} bytes but its header describes ${impliedSize}; it ends inside this tensor (bytes ${cut.begin}..${cut.end})`, cut.name);
    }
    const worst = sorted.reduce((a, t) => (t.end > a.end ? t : a));
    throw new CheckpointError('offsets-out-of-range', file,
      `data_offsets [${worst.begin - dataStart}, ${worst.end - dataStart}] run past the end of the file (data section is ${fileSize - dataStart} bytes)`, worst.name);
  }
  return { file, dataStart, impliedSize, tensors, metadata, unknownDtypes };
}

/**
 * Parse a safetensors header from the first bytes of a file (at least 8 + N of them; more is
 * fine) and the file's size when known. Pure: the loader streams instead, but uses the same checks.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, file: string, fileSize?: number): SafetensorsHeader {
  const n = readHeaderLength(bytes.subarray(0, 8), file, fileSize);
  if (bytes.length < 8 + n) {
    throw new CheckpointError('truncated', file, `have ${bytes.length} bytes, but the header needs ${8 + n}`);
  }
  return parseHeader(bytes.subarray(8, 8 + n), file, fileSize);
}

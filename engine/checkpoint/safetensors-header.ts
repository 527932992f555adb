// Parsing and checking a safetensors header: an 8-byte little-endian length N, then N bytes of
// JSON {name: {dtype, shape, data_offsets: [begin, end]}} with offsets relative to the data
// section that follows. Every way a header can lie is caught here, naming file and tensor.
//
// The header is untrusted: it is read as its bytes arrive (json-members.ts), one entry at a time,
// with its size, nesting and string lengths bounded before anything is built from it, and only
// the entries a caller keeps are held as objects (the rest are counted, and their byte ranges
// checked). Pure: no I/O, the same code in Node and browsers.
import { CheckpointError, describeValue, excerpt } from '../errors.ts';
import { DTYPE_BYTES, isDType } from './dtype.ts';
import { JsonMemberFailure, JsonMemberReader } from './json-members.ts';

/**
 * What a header may be. `bytes` is the safetensors library's own limit; a real header is far
 * smaller (Mixtral-8x7B's 995 tensors take 120 KB; a shard of the largest MoE models lists a few
 * thousand). Entries nest 2 deep ({"shape": [...]}) and `__metadata__` is a map of strings;
 * names and metadata values are short.
 */
export const HEADER_LIMITS = { bytes: 100_000_000, depth: 3, string: 65_536, member: 1 << 20, entries: 262_144 } as const;

/** The largest header accepted. */
export const MAX_HEADER_BYTES = HEADER_LIMITS.bytes;

/** How many names of unkept tensors (and of unknown dtypes) a header lists; the rest are counted. */
export const LISTED = 1000;

export interface TensorEntry {
  name: string;
  /** As written in the header; may be a dtype this engine does not decode (see `isDType`). */
  dtype: string;
  shape: number[];
  /** Absolute byte range in the file: [begin, end). */
  begin: number;
  end: number;
}

/** A tensor the caller did not keep: enough to say what it is. */
export interface OtherTensor { name: string; dtype: string; shape: number[] }

export interface SafetensorsHeader {
  file: string;
  /** Where the data section starts (8 + N). */
  dataStart: number;
  /** Size of the file as the header implies (end of the last tensor). */
  impliedSize: number;
  /** The tensors kept (all of them unless `keep` said otherwise), by name. */
  tensors: Map<string, TensorEntry>;
  /** Tensors the header lists, kept or not (`__metadata__` is not one). */
  count: number;
  /** The first LISTED tensors not kept, in header order. */
  others: OtherTensor[];
  metadata: Record<string, string> | null;
  /** Tensors (the first LISTED) whose dtype is not F32, F16 or BF16: fine unless the model needs them. */
  unknownDtypes: string[];
  /** The tensor, kept or not, whose bytes hold byte `at` of the file. */
  tensorAt(at: number): string | undefined;
}

export interface HeaderOptions {
  /** The file's size, when known: offsets past its end are caught before streaming. */
  fileSize?: number;
  /** Which tensors to hold as entries (default: all); the others are checked and counted only. */
  keep?: (name: string) => boolean;
}

/** Header length from the first 8 bytes; throws if it cannot fit in a file of `fileSize` bytes. */
export function readHeaderLength(first8: Uint8Array, file: string, fileSize: number | undefined): number {
  if (first8.length < 8 || (fileSize !== undefined && fileSize < 8)) {
    const have = fileSize !== undefined ? Math.min(fileSize, first8.length) : first8.length;
    throw new CheckpointError('truncated', file, `file is ${have} bytes, too short for the 8-byte safetensors header length`);
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (fileSize !== undefined && n > BigInt(fileSize - 8)) {
    throw new CheckpointError('header-too-large', file, `header length ${n} is larger than the file allows (${fileSize - 8} bytes after the length field)`);
  }
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new CheckpointError('header-too-large', file, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit of safetensors headers`);
  }
  return Number(n);
}

/**
 * The N header bytes of `file` (those after the 8-byte length), pushed as they arrive; `end()`
 * checks what only the whole header can tell (overlaps, the file's extent) and returns it.
 */
export class HeaderParser {
  private readonly dataStart: number;
  private readonly reader: JsonMemberReader;
  private readonly tensors = new Map<string, TensorEntry>();
  private readonly seen = new Set<string>();
  private readonly others: OtherTensor[] = [];
  private readonly unknownDtypes: string[] = [];
  private metadata: Record<string, string> | null = null;
  // Byte ranges (relative to the data section) of every non-empty tensor, kept or not.
  private readonly begins: number[] = [];
  private readonly ends: number[] = [];
  private readonly names: string[] = [];
  private count = 0;
  private received = 0;

  constructor(private readonly file: string, private readonly length: number, private readonly options: HeaderOptions = {}) {
    this.dataStart = 8 + length;
    this.reader = new JsonMemberReader(HEADER_LIMITS, (name, value) => this.entry(name, value));
  }

  push(bytes: Uint8Array): void {
    this.received += bytes.length;
    if (this.received > this.length) throw new Error('HeaderParser: more bytes pushed than the header holds');
    this.read(() => this.reader.push(bytes));
  }

  end(): SafetensorsHeader {
    const { file, dataStart, begins, ends, names } = this;
    this.read(() => this.reader.end());

    // Overlaps: sweep in order of start, remembering the furthest end seen so far (a long tensor
    // can overlap several later ones). Empty tensors occupy no bytes and overlap nothing.
    const order = Array.from(begins.keys());
    if (!order.every((i) => i === 0 || begins[i - 1] < begins[i] || (begins[i - 1] === begins[i] && ends[i - 1] <= ends[i]))) {
      order.sort((a, b) => begins[a] - begins[b] || ends[a] - ends[b]);
    }
    let reach = -1;
    for (const i of order) {
      if (reach >= 0 && begins[i] < ends[reach]) {
        throw new CheckpointError('offsets-overlap', file,
          `bytes [${begins[i]}, ${ends[i]}) overlap those of ${excerpt(names[reach], 80)} [${begins[reach]}, ${ends[reach]})`, names[i]);
      }
      if (reach < 0 || ends[i] > ends[reach]) reach = i;
    }

    const impliedSize = dataStart + (reach >= 0 ? ends[reach] : 0);
    const fileSize = this.options.fileSize;
    if (fileSize !== undefined && impliedSize > fileSize) {
      // Tensors that tile the data section without gaps describe a file that was cut short;
      // anything else is a header pointing where no data can be.
      const contiguous = order.every((i, k) => begins[i] === (k === 0 ? 0 : ends[order[k - 1]]));
      if (contiguous) {
        const cut = order.find((i) => dataStart + ends[i] > fileSize)!;
        throw new CheckpointError('truncated', file,
          `file is ${fileSize} bytes but its header describes ${impliedSize}; it ends inside this tensor (bytes ${dataStart + begins[cut]}..${dataStart + ends[cut]})`, names[cut]);
      }
      throw new CheckpointError('offsets-out-of-range', file,
        `data_offsets [${begins[reach]}, ${ends[reach]}] run past the end of the file (data section is ${fileSize - dataStart} bytes)`, names[reach]);
    }
    const tensorAt = (at: number) => {
      const i = begins.findIndex((b, k) => dataStart + b <= at && at < dataStart + ends[k]);
      return i >= 0 ? names[i] : undefined;
    };
    return { file, dataStart, impliedSize, tensors: this.tensors, count: this.count, others: this.others, metadata: this.metadata, unknownDtypes: this.unknownDtypes, tensorAt };
  }

  /** Run a step of the JSON reader, turning its failures into errors that name the file. */
  private read(step: () => void): void {
    try { step(); } catch (e) {
      if (!(e instanceof JsonMemberFailure)) throw e;
      const code = e.kind === 'over-limit' ? 'over-limit' : 'header-not-json';
      const what = e.kind === 'not-object' ? 'header is JSON but not an object' : `header ${e.message}`;
      throw new CheckpointError(code, this.file, what, e.key);
    }
  }

  /**
   * One member of the header: a tensor's entry, or `__metadata__`. Written with loops, no
   * closures: it runs once per entry, and a hostile header has hundreds of thousands.
   */
  private entry(name: string, v: unknown): void {
    const { file } = this;
    if (this.seen.has(name)) throw this.bad(name, 'is listed twice in the header');
    this.seen.add(name);
    if (name === '__metadata__') {
      if (!isObject(v)) throw this.bad(name, `"__metadata__" must be an object, got ${describeValue(v)}`);
      const metadata: Record<string, string> = {};
      for (const [k, x] of Object.entries(v)) metadata[k] = typeof x === 'string' ? x : describeValue(x);
      this.metadata = metadata;
      return;
    }
    if (!isObject(v)) throw this.bad(name, `entry must be an object, got ${describeValue(v)}`);
    const { dtype, shape, data_offsets: off } = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (dtype === undefined) throw this.bad(name, 'entry has no "dtype"');
    if (typeof dtype !== 'string') throw this.bad(name, `"dtype" must be a string, got ${describeValue(dtype)}`);
    if (shape === undefined) throw this.bad(name, 'entry has no "shape"');
    if (!isCounts(shape)) throw this.bad(name, `"shape" must be a list of non-negative integers, got ${describeValue(shape)}`);
    if (off === undefined) throw this.bad(name, 'entry has no "data_offsets"');
    if (!isCounts(off) || off.length !== 2) throw this.bad(name, `"data_offsets" must be [begin, end] non-negative integers, got ${describeValue(off)}`);
    const b = off[0], en = off[1];
    if (en < b) throw new CheckpointError('offsets-out-of-range', file, `data_offsets [${b}, ${en}] end before they begin`, name);
    if (isDType(dtype)) {
      let expected = DTYPE_BYTES[dtype];
      for (let i = 0; i < shape.length; i++) expected *= shape[i];
      if (en - b !== expected) {
        throw new CheckpointError('offsets-out-of-range', file,
          `data_offsets [${b}, ${en}] hold ${en - b} bytes but ${dtype} shape ${describeValue(shape, 60)} needs ${expected}`, name);
      }
    } else if (this.unknownDtypes.length < LISTED) {
      this.unknownDtypes.push(name);
    }
    if (++this.count > HEADER_LIMITS.entries) {
      throw new CheckpointError('over-limit', file, `header lists more than ${HEADER_LIMITS.entries} tensors`, name);
    }
    if (en > b) { this.begins.push(b); this.ends.push(en); this.names.push(name); }
    if (this.options.keep ? this.options.keep(name) : true) {
      this.tensors.set(name, { name, dtype, shape, begin: this.dataStart + b, end: this.dataStart + en });
    } else if (this.others.length < LISTED) {
      this.others.push({ name, dtype, shape });
    }
  }

  private bad(name: string, what: string): CheckpointError {
    return new CheckpointError('bad-header', this.file, what, name);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A list of non-negative safe integers (a shape, a pair of offsets). */
function isCounts(v: unknown): v is number[] {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (!Number.isSafeInteger(v[i]) || v[i] < 0) return false;
  return true;
}

/**
 * Parse and check the N header bytes (those after the 8-byte length) of `file`, held whole.
 * `fileSize`, when known, lets offsets past the end of the file be caught before streaming.
 */
export function parseHeader(json: Uint8Array, file: string, fileSize: number | undefined, keep?: (name: string) => boolean): SafetensorsHeader {
  const parser = new HeaderParser(file, json.length, { fileSize, keep });
  parser.push(json);
  return parser.end();
}

/**
 * Parse a safetensors header from the first bytes of a file (at least 8 + N of them; more is
 * fine) and the file's size when known. Pure: the loader streams instead, through HeaderParser.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, file: string, fileSize?: number): SafetensorsHeader {
  const n = readHeaderLength(bytes.subarray(0, 8), file, fileSize);
  if (bytes.length < 8 + n) {
    throw new CheckpointError('truncated', file, `have ${bytes.length} bytes, but the header needs ${8 + n}`);
  }
  return parseHeader(bytes.subarray(8, 8 + n), file, fileSize);
}

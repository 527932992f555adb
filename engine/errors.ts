// Typed errors for everything that can be wrong with a checkpoint or a request.
// Each error names the file (and tensor, where there is one) so a user knows what to fix, and
// quotes at most a short excerpt of what it found: input is untrusted, and a message is shown
// whole (a terminal line, the page's header).

export type CheckpointErrorCode =
  | 'truncated'            // the file ends before the bytes its header promises
  | 'header-too-large'     // the 8-byte header length points past the end of the file, or past the limit
  | 'header-not-json'      // the header bytes are not a JSON object
  | 'bad-header'           // JSON, but not a valid safetensors header (missing fields, wrong types)
  | 'offsets-out-of-range' // a tensor's data_offsets fall outside the data section
  | 'offsets-overlap'      // two tensors claim the same bytes
  | 'unknown-dtype'        // a dtype this engine does not read
  | 'shape-mismatch'       // a tensor's shape disagrees with config.json
  | 'missing-tensor'       // a tensor the model needs is in no file
  | 'bad-config'           // config.json is missing, not JSON, or has impossible values
  | 'bad-index'            // model.safetensors.index.json is malformed or names missing shards
  | 'missing-file'         // a file the checkpoint needs is absent
  | 'bad-tokenizer'        // tokenizer.json cannot be read
  | 'over-limit'           // a JSON file is larger, deeper or has longer strings than this engine reads
  | 'too-large'            // the weights need more memory (as float32) than this engine may hold
  | 'non-finite';          // a weight is NaN or infinite

/** The most characters of untrusted input a message quotes. */
export const EXCERPT_CHARS = 120;

/**
 * `text` quoted as JSON, cut to `max` characters with "... (N bytes)" when longer: the only way
 * a message quotes input (a tensor name, a dtype, a value) it did not write itself.
 */
export function excerpt(text: string, max = EXCERPT_CHARS): string {
  if (text.length <= max) return JSON.stringify(text);
  // Cut between whole characters: never half of a surrogate pair.
  let cut = max;
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  return `${JSON.stringify(text.slice(0, cut))}... (${utf8Length(text)} bytes)`;
}

/** A short description of any JSON value: at most `max` characters, however large or deep it is. */
export function describeValue(v: unknown, max = EXCERPT_CHARS): string {
  if (typeof v === 'string') return excerpt(v, max);
  const text = shortJson(v, max + 1);
  return text.length <= max ? text : `${text.slice(0, max)}...`;
}

/** JSON text of `v`, stopped once it reaches `budget` characters (no recursion past that). */
function shortJson(v: unknown, budget: number): string {
  if (typeof v === 'string') return excerpt(v, Math.max(8, Math.min(EXCERPT_CHARS, budget)));
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'boolean' || v === null) return String(v);
  if (v === undefined) return 'undefined';
  if (typeof v !== 'object') return typeof v;
  const array = Array.isArray(v);
  const entries = array ? (v as unknown[]).map((x) => [null, x] as const) : Object.entries(v as object);
  let out = array ? '[' : '{';
  for (let i = 0; i < entries.length; i++) {
    if (out.length >= budget) return `${out}...`;
    const [k, x] = entries[i];
    out += (i ? ',' : '') + (k === null ? '' : `${excerpt(k, 40)}:`) + shortJson(x, budget - out.length);
  }
  return out + (array ? ']' : '}');
}

/** Bytes of `s` in UTF-8, counted without encoding it (it may be megabytes long). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) { n += 4; i++; }
    else n += 3;
  }
  return n;
}

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  constructor(
    readonly code: CheckpointErrorCode,
    readonly file: string,
    message: string,
    readonly tensor?: string,
  ) {
    // File and tensor names come from the checkpoint too (an index names shards, a header tensors).
    super(`${short(file)}${tensor ? ` [${short(tensor)}]` : ''}: ${message}`);
  }
}

/** A name as it is when short, else an excerpt (without quotes added to a short one). */
const short = (name: string) => (name.length <= EXCERPT_CHARS ? name : excerpt(name));

/** A request the engine cannot serve: bad ids, an empty prompt, an unknown hook name, ... */
export class RequestError extends Error {
  override readonly name = 'RequestError';
}

/**
 * A forward produced numbers that are not finite (NaN or infinity) where the model decides
 * something: a router's expert weights, or the logits a token is chosen from. Generation stops
 * with this rather than pick a token from garbage (argmax of NaN is token 0).
 */
export class NonFiniteError extends Error {
  override readonly name = 'NonFiniteError';
  constructor(
    /** Where the numbers went bad: 'router' (a layer's expert weights) or 'logits'. */
    readonly where: 'router' | 'logits',
    /** Absolute position of the token whose numbers went bad. */
    readonly position: number,
    /** The layer, for 'router'. */
    readonly layer?: number,
    detail = '',
  ) {
    const what = where === 'router' ? `layer ${layer}'s router gave numbers that are not finite at position ${position}` : `the logits at position ${position} are not finite numbers`;
    super(`${what}${detail ? ` (${detail})` : ''}: the forward overflowed, or the weights or an intervention hold NaN or infinity; generation stopped`);
  }
}

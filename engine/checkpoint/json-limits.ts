// Reading the JSON files of a checkpoint that a stranger wrote (config.json, the shard index,
// tokenizer.json). A file's size is checked before it is read (or, when the source cannot say,
// it is read up to the limit and no further), and one pass over the text bounds how deep it
// nests and how long its strings are before JSON.parse sees it: a file nested millions deep or
// holding a 100 MB string costs a short error, not a stack overflow or a frozen tab.
// Browser- and worker-safe.
import { CheckpointError, type CheckpointErrorCode } from '../errors.ts';
import type { CheckpointSource } from './source.ts';

export interface JsonLimits {
  /** Bytes the file may hold. */
  bytes: number;
  /** Containers it may nest. */
  depth: number;
  /** Characters one string may hold. */
  string: number;
}

const MiB = 1 << 20;

/** Far above what real files need, far below what would hurt. */
export const JSON_LIMITS = {
  /** Mixtral's config.json is 1 KB; configs with label maps or sub-configs reach a few hundred KB. */
  config: { bytes: 4 * MiB, depth: 32, string: 64 * 1024 },
  /** DeepSeek-V3's index (91 k tensors) is 8 MB. */
  index: { bytes: 64 * MiB, depth: 8, string: 64 * 1024 },
  /** Mixtral's tokenizer.json is 1.8 MB; Gemma 3's, among the largest, 33 MB. */
  tokenizer: { bytes: 64 * MiB, depth: 64, string: MiB },
} as const satisfies Record<string, JsonLimits>;

const QUOTE = 0x22, BACKSLASH = 0x5c, LBRACE = 0x7b, RBRACE = 0x7d, LBRACKET = 0x5b, RBRACKET = 0x5d;

/** Throws 'over-limit' at the first place `text` nests deeper, or has a longer string, than `limits` allow. */
export function checkJsonBounds(text: string, file: string, limits: JsonLimits): void {
  let depth = 0, inString = false, escaped = false, length = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === BACKSLASH) escaped = true;
      else if (c === QUOTE) { inString = false; continue; }
      if (++length > limits.string) {
        throw new CheckpointError('over-limit', file, `has a string longer than ${limits.string} characters (at character ${i})`);
      }
    } else if (c === QUOTE) {
      inString = true; length = 0;
    } else if (c === LBRACE || c === LBRACKET) {
      if (++depth > limits.depth) throw new CheckpointError('over-limit', file, `nests deeper than ${limits.depth} levels (at character ${i})`);
    } else if (c === RBRACE || c === RBRACKET) {
      depth--;
    }
  }
}

/** `text` parsed as JSON once its bounds are checked; not JSON is `code` (the platform's reason, cut short). */
export function parseBoundedJson(text: string, file: string, limits: JsonLimits, code: CheckpointErrorCode): unknown {
  if (text.length > limits.bytes) throw tooLarge(file, limits, `${text.length} characters`);
  checkJsonBounds(text, file, limits);
  try { return JSON.parse(text); } catch (e) {
    throw new CheckpointError(code, file, `not valid JSON (${String((e as Error).message).slice(0, 80)})`);
  }
}

const tooLarge = (file: string, limits: JsonLimits, size: string) =>
  new CheckpointError('over-limit', file, `is ${size}, more than the ${limits.bytes / MiB} MiB this engine reads`);

/**
 * The text of `name` from `source`, refused unread when its size is over `limits.bytes`, and
 * read no further than that when the source cannot say its size (a server without Content-Length).
 */
export async function readBoundedText(source: CheckpointSource, name: string, limits: JsonLimits): Promise<string> {
  const size = await source.size(name);
  if (size !== undefined && size > limits.bytes) throw tooLarge(name, limits, `${size} bytes`);
  return source.text(name, limits.bytes);
}

/** Read and parse one JSON file of a checkpoint with `limits` (see readBoundedText, parseBoundedJson). */
export async function readJsonFile(source: CheckpointSource, name: string, limits: JsonLimits, code: CheckpointErrorCode, signal?: AbortSignal): Promise<unknown> {
  const text = await readBoundedText(source, name, limits);
  signal?.throwIfAborted();
  return parseBoundedJson(text, name, limits, code);
}

// A JSON object read as its bytes arrive, one member at a time, with bounded work: for
// `{"a": 1, "b": {...}}` it calls onMember("a", 1), then onMember("b", {...}), and never holds
// more than one member. A safetensors header is such an object, written by whoever made the
// file: this pass bounds how deep a member nests, how long a string is and how many bytes one
// member spans, as the bytes go by, before any of them reaches JSON.parse (which then parses one
// small, already bounded member at a time: no deep recursion, no giant strings).
//
// The pass only follows the structure (strings, escapes, brackets, the commas and colons of the
// top level); JSON.parse checks each member's syntax. Pure: runs in Node and browsers alike.

export interface JsonMemberLimits {
  /** Containers a member's value may nest ({"shape": [...]} is 2). */
  depth: number;
  /** Bytes one string (a key or a value) may hold. */
  string: number;
  /** Bytes one member (key, colon and value) may span. */
  member: number;
}

/** Why the bytes were refused: not JSON, or over a limit. `at` is the byte offset in the document. */
export class JsonMemberFailure extends Error {
  constructor(readonly kind: 'not-json' | 'not-object' | 'over-limit', message: string, readonly at: number, readonly key?: string) {
    super(message);
  }
}

const enum State {
  Start,      // before the opening brace
  KeyOrEnd,   // after "{": a key or "}"
  Key,        // after ",": a key
  InKey,      // inside a key's string
  Colon,      // after a key
  ValueStart, // after the colon
  InValue,    // inside a value
  CommaOrEnd, // after a value: "," or "}"
  Done,       // after the closing brace: only whitespace may follow
}

const QUOTE = 0x22, BACKSLASH = 0x5c, COLON = 0x3a, COMMA = 0x2c;
const LBRACE = 0x7b, RBRACE = 0x7d, LBRACKET = 0x5b, RBRACKET = 0x5d;
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

const decoder = new TextDecoder('utf-8', { fatal: true });

export class JsonMemberReader {
  private state = State.Start;
  /** Bytes of the document seen so far. */
  private offset = 0;
  // The member being read: its bytes so far (key and value kept apart), where it started.
  private keyParts: Uint8Array[] = [];
  private valueParts: Uint8Array[] = [];
  private key = '';
  private memberStart = 0;
  // Inside a value: open containers, whether in a string (and after a backslash), its length.
  private depth = 0;
  private inString = false;
  private escaped = false;
  private stringBytes = 0;
  private literal = false;

  constructor(private readonly limits: JsonMemberLimits, private readonly onMember: (key: string, value: unknown, at: number) => void) {}

  /** The next bytes of the document. Throws JsonMemberFailure at the first byte that is wrong. */
  push(chunk: Uint8Array): void {
    // Where in this chunk the current key's or value's bytes begin (0: it goes on from the last chunk).
    let captureFrom = this.state === State.InKey || this.state === State.InValue ? 0 : -1;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk[i];
      const at = this.offset + i;
      switch (this.state) {
        case State.Start:
          if (isSpace(c)) break;
          if (c !== LBRACE) throw new JsonMemberFailure(c === LBRACKET || c === QUOTE || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x74 || c === 0x66 || c === 0x6e ? 'not-object' : 'not-json', 'does not start with "{"', at);
          this.state = State.KeyOrEnd;
          break;
        case State.KeyOrEnd:
        case State.Key:
          if (isSpace(c)) break;
          if (c === RBRACE && this.state === State.KeyOrEnd) { this.state = State.Done; break; }
          if (c !== QUOTE) throw new JsonMemberFailure('not-json', `is not valid JSON at byte ${at} (a key was expected)`, at);
          this.state = State.InKey;
          this.memberStart = at;
          this.stringBytes = 0;
          this.escaped = false;
          captureFrom = i;
          break;
        case State.InKey:
          if (this.escaped) this.escaped = false;
          else if (c === BACKSLASH) this.escaped = true;
          else if (c === QUOTE) {
            this.keyParts.push(chunk.subarray(captureFrom, i + 1));
            captureFrom = -1;
            this.key = this.finishKey(at);
            this.state = State.Colon;
            break;
          }
          if (++this.stringBytes > this.limits.string) throw this.tooLong('a key', at);
          break;
        case State.Colon:
          if (isSpace(c)) break;
          if (c !== COLON) throw new JsonMemberFailure('not-json', `is not valid JSON at byte ${at} (":" was expected)`, at, this.key);
          this.state = State.ValueStart;
          break;
        case State.ValueStart:
          if (isSpace(c)) break;
          this.state = State.InValue;
          this.depth = 0;
          this.inString = false;
          this.literal = false;
          captureFrom = i;
          // The value's first byte: a container, a string or a literal (number, true, false, null).
          if (c === LBRACE || c === LBRACKET) this.depth = 1;
          else if (c === QUOTE) { this.inString = true; this.escaped = false; this.stringBytes = 0; }
          else this.literal = true;
          break;
        case State.InValue:
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (c === BACKSLASH) this.escaped = true;
            else if (c === QUOTE) {
              this.inString = false;
              if (this.depth === 0) { this.valueParts.push(chunk.subarray(captureFrom, i + 1)); captureFrom = -1; this.finishValue(at); }
              break;
            }
            if (++this.stringBytes > this.limits.string) throw this.tooLong('a string', at);
          } else if (this.literal) {
            if (isSpace(c) || c === COMMA || c === RBRACE) {
              this.valueParts.push(chunk.subarray(captureFrom, i));
              captureFrom = -1;
              this.finishValue(at);
              i--; // the delimiter belongs to what follows the value
              continue;
            }
          } else if (c === QUOTE) {
            this.inString = true; this.escaped = false; this.stringBytes = 0;
          } else if (c === LBRACE || c === LBRACKET) {
            if (++this.depth > this.limits.depth) throw new JsonMemberFailure('over-limit', `has an entry that nests deeper than ${this.limits.depth} levels at byte ${at}`, at, this.key);
          } else if (c === RBRACE || c === RBRACKET) {
            if (--this.depth === 0) { this.valueParts.push(chunk.subarray(captureFrom, i + 1)); captureFrom = -1; this.finishValue(at); }
          }
          break;
        case State.CommaOrEnd:
          if (isSpace(c)) break;
          if (c === COMMA) this.state = State.Key;
          else if (c === RBRACE) this.state = State.Done;
          else throw new JsonMemberFailure('not-json', `is not valid JSON at byte ${at} ("," or "}" was expected)`, at, this.key);
          break;
        case State.Done:
          if (!isSpace(c)) throw new JsonMemberFailure('not-json', `is not valid JSON at byte ${at} (bytes after the closing "}")`, at);
          break;
      }
    }
    // The member goes on in the next chunk: keep a copy of its bytes from this one (the caller
    // may reuse the chunk's memory), as long as it stays within its limit.
    if (captureFrom >= 0) (this.state === State.InKey ? this.keyParts : this.valueParts).push(chunk.slice(captureFrom));
    this.offset += n;
    const open = this.state === State.InKey || this.state === State.Colon || this.state === State.ValueStart || this.state === State.InValue;
    if (open) this.checkSpan(this.offset);
  }

  /** A member may span `limits.member` bytes: checked as each one ends, and at the end of each chunk. */
  private checkSpan(at: number): void {
    if (at - this.memberStart > this.limits.member) {
      throw new JsonMemberFailure('over-limit', `has an entry that spans more than ${this.limits.member} bytes`, at, this.key || undefined);
    }
  }

  /** The document is over: throws unless it was one whole object. */
  end(): void {
    if (this.state !== State.Done) {
      throw new JsonMemberFailure('not-json', this.state === State.Start ? 'is empty' : `is not valid JSON: it ends at byte ${this.offset}, inside the object`, this.offset);
    }
  }

  private finishKey(at: number): string {
    const key = parse(concat(this.keyParts), at, undefined) as string;
    this.keyParts = [];
    return key;
  }

  private finishValue(at: number): void {
    this.checkSpan(at + 1);
    const value = parse(concat(this.valueParts), at, this.key);
    this.valueParts = [];
    this.state = State.CommaOrEnd;
    this.onMember(this.key, value, this.memberStart);
    this.key = '';
  }

  private tooLong(what: string, at: number): JsonMemberFailure {
    return new JsonMemberFailure('over-limit', `has ${what} longer than ${this.limits.string} bytes at byte ${at}`, at, this.state === State.InKey ? undefined : this.key);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** `bytes` as text when they are all ASCII (most headers: no decoder call per entry), else null. */
function ascii(bytes: Uint8Array): string | null {
  if (bytes.length > 4096) return null;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) return null;
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/** One bounded key or value, parsed by the platform's JSON parser. */
function parse(bytes: Uint8Array, at: number, key: string | undefined): unknown {
  let text = ascii(bytes);
  if (text === null) {
    try { text = decoder.decode(bytes); } catch {
      throw new JsonMemberFailure('not-json', `is not valid UTF-8 before byte ${at + 1}`, at, key);
    }
  }
  try { return JSON.parse(text); } catch (e) {
    // The platform's message may quote the text: keep only its first words.
    const why = String((e as Error).message).slice(0, 60);
    throw new JsonMemberFailure('not-json', `is not valid JSON before byte ${at + 1} (${why})`, at, key);
  }
}

// Reading a byte stream front to back in exact pieces: "give me the next n bytes" and
// "skip n bytes", over chunks of any size, never holding more than one chunk beyond the piece
// being filled. Each byte of the stream is consumed once.

/** The underlying stream failed (a network error, a file read error): not an end of stream. */
export class StreamReadFailure extends Error {
  override readonly name = 'StreamReadFailure';
  constructor(readonly offset: number, override readonly cause: unknown) {
    super(`reading failed at byte ${offset}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export class ExactReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private at = 0;
  private finished = false;
  /** Bytes consumed so far (read or skipped). */
  offset = 0;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly onAbort: () => void;

  /**
   * `onBytes` hears of each chunk as it arrives. `signal` aborts a pending read at once (the
   * stream is cancelled), and every method then throws the signal's reason.
   */
  constructor(
    stream: ReadableStream<Uint8Array>,
    private readonly onBytes: (n: number) => void = () => {},
    private readonly signal?: AbortSignal,
  ) {
    this.reader = stream.getReader();
    this.onAbort = () => { this.reader.cancel(signal?.reason).catch(() => {}); };
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Make sure a byte is available; false at the end of the stream. */
  private async fill(): Promise<boolean> {
    while (this.at >= this.chunk.length) {
      this.signal?.throwIfAborted();
      if (this.finished) return false;
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await this.reader.read();
      } catch (e) {
        this.signal?.throwIfAborted();
        throw new StreamReadFailure(this.offset, e);
      }
      this.signal?.throwIfAborted();
      if (r.done) { this.finished = true; return false; }
      const value = r.value instanceof Uint8Array ? r.value : new Uint8Array(r.value as ArrayBufferLike);
      this.chunk = value;
      this.at = 0;
      if (value.length) this.onBytes(value.length);
    }
    return true;
  }

  /** Fill `target` with the next bytes; returns how many were written (fewer at end of stream). */
  async readInto(target: Uint8Array): Promise<number> {
    const n = target.length;
    let got = 0;
    while (got < n) {
      if (!(await this.fill())) break;
      const take = Math.min(n - got, this.chunk.length - this.at);
      target.set(this.chunk.subarray(this.at, this.at + take), got);
      this.at += take; got += take; this.offset += take;
    }
    return got;
  }

  /** Copy the next n bytes into a new array; returns the bytes read (shorter at end of stream). */
  async read(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    const got = await this.readInto(out);
    return got < n ? out.subarray(0, got) : out;
  }

  /**
   * The next bytes as they arrived, at most `max` of them, without a copy (a view that is valid
   * until the next call); null at the end of the stream.
   */
  async next(max = Infinity): Promise<Uint8Array | null> {
    if (!(await this.fill())) return null;
    const take = Math.min(max, this.chunk.length - this.at);
    const out = this.chunk.subarray(this.at, this.at + take);
    this.at += take; this.offset += take;
    return out;
  }

  /** Skip n bytes; returns how many were skipped (fewer at end of stream). */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      if (!(await this.fill())) break;
      const take = Math.min(left, this.chunk.length - this.at);
      this.at += take; left -= take; this.offset += take;
    }
    return n - left;
  }

  /** Stop reading: the rest of the stream is not fetched. */
  async cancel(): Promise<void> {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.chunk = new Uint8Array(0);
    this.at = 0;
    await this.reader.cancel().catch(() => {});
  }
}

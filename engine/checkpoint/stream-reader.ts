// Reading a byte stream front to back in exact pieces: "give me the next n bytes" and
// "skip n bytes", over chunks of any size, never holding more than one piece at a time.

export class ExactReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private at = 0;
  /** Bytes consumed so far (read or skipped). */
  offset = 0;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(stream: ReadableStream<Uint8Array>, private readonly onBytes: (n: number) => void = () => {}) {
    this.reader = stream.getReader();
  }

  private async fill(): Promise<boolean> {
    while (this.at >= this.chunk.length) {
      const { value, done } = await this.reader.read();
      if (done) return false;
      this.chunk = value;
      this.at = 0;
      this.onBytes(value.length);
    }
    return true;
  }

  /** Copy the next n bytes into a new array; returns the bytes read (shorter at end of stream). */
  async read(n: number, signal?: AbortSignal): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      signal?.throwIfAborted();
      if (!(await this.fill())) return out.subarray(0, got);
      const take = Math.min(n - got, this.chunk.length - this.at);
      out.set(this.chunk.subarray(this.at, this.at + take), got);
      this.at += take; got += take; this.offset += take;
    }
    return out;
  }

  /** Skip n bytes; returns how many were skipped (fewer at end of stream). */
  async skip(n: number, signal?: AbortSignal): Promise<number> {
    let left = n;
    while (left > 0) {
      signal?.throwIfAborted();
      if (!(await this.fill())) break;
      const take = Math.min(left, this.chunk.length - this.at);
      this.at += take; left -= take; this.offset += take;
    }
    return n - left;
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }
}

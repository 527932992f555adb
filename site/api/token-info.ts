// Token ids to what a reader sees: the text each token completes (a character split over
// byte-fallback tokens shows on its last byte) and its vocabulary piece for tooltips.
import type { MixscopeTokenizer, StreamDecoder } from '../../engine/tokenizer.ts';
import type { TokenInfo } from '../../viz/types.ts';

export class TokenTexts {
  private readonly decoder: StreamDecoder | null;

  constructor(private readonly tokenizer: MixscopeTokenizer | null, private readonly specialIds: ReadonlySet<number>) {
    this.decoder = tokenizer?.streamDecoder([]) ?? null;
  }

  /** The next token of the sequence (tokens must be pushed in order). */
  push(id: number, position: number, generated: boolean): TokenInfo {
    const piece = this.tokenizer?.idToToken(id) ?? String(id);
    // Special tokens (<s>, </s>) decode to nothing; show their piece so they are visible.
    const text = this.specialIds.has(id) ? piece : this.decoder ? this.decoder.push(id) : piece;
    return { id, text, piece, position, generated };
  }

  /** Text still held back at the end (an incomplete character, shown as U+FFFD). */
  flush(): string {
    return this.decoder?.flush() ?? '';
  }
}

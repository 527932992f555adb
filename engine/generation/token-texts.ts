// Token ids to what a reader sees: the text each token completes (a character split over
// byte-fallback tokens shows on its last byte), its vocabulary piece, its place in the sequence.
import type { MixtralConfig } from '../config.ts';
import type { MixscopeTokenizer, StreamDecoder } from '../tokenizer.ts';

/** One token of a text being read or generated, as views show it. */
export interface TokenInfo {
  /** Token id in the model's vocabulary. */
  id: number;
  /**
   * The text this token completes ("" while a character is incomplete); a special token
   * (<s>, </s>) shows its piece; without a tokenizer, the id.
   */
  text: string;
  /** The vocabulary piece (e.g. "▁the", "<0x0A>"), for tooltips. */
  piece: string;
  /** Absolute position in the sequence (0-based). */
  position: number;
  /** True for tokens the model generated, false for the prompt. */
  generated: boolean;
}

/** The model's special tokens (beginning and end of sequence). */
export function specialIds(config: Pick<MixtralConfig, 'bos_token_id' | 'eos_token_id'>): Set<number> {
  return new Set([config.bos_token_id, config.eos_token_id].filter((x): x is number => typeof x === 'number'));
}

/** Tokens of one sequence, pushed in order, decoded as they come. */
export class TokenTexts {
  private readonly decoder: StreamDecoder | null;

  constructor(private readonly tokenizer: MixscopeTokenizer | null, private readonly special: ReadonlySet<number>) {
    this.decoder = tokenizer?.streamDecoder([]) ?? null;
  }

  /** The next token of the sequence. */
  push(id: number, position: number, generated: boolean): TokenInfo {
    const piece = this.tokenizer?.idToToken(id) ?? String(id);
    // Special tokens decode to nothing: show their piece so they are visible.
    const text = this.special.has(id) || !this.decoder ? piece : this.decoder.push(id);
    return { id, text, piece, position, generated };
  }

  /** True when `id` is shown as its piece rather than decoded (special, or no tokenizer). */
  shownAsPiece(id: number): boolean {
    return this.special.has(id) || !this.decoder;
  }

  /** Text still held back at the end (an incomplete character, shown as U+FFFD). */
  flush(): string {
    return this.decoder?.flush() ?? '';
  }
}

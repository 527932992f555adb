// The tokenizer: Hugging Face tokenizer.json read by @huggingface/tokenizers (pure JavaScript,
// no dependencies, ~8 kB gzip, and it implements the SentencePiece-BPE-with-byte-fallback
// pipeline Mistral and Mixtral use), plus a streaming decoder that only emits whole characters.
//
// Special tokens written in text ("</s>" typed in a prompt) are text by default, as SentencePiece
// reads them: a reader's prompt cannot end the sequence or fake a beginning. Hugging Face's fast
// tokenizers parse them as control tokens; `encode(text, { specialTokens: true })` does that.
import { Tokenizer } from '@huggingface/tokenizers';
import { CheckpointError } from './errors.ts';

export interface Encoded { ids: number[]; tokens: string[] }

export interface EncodeOptions {
  /** Add the template's tokens (the beginning-of-sequence token) (default true). */
  addSpecialTokens?: boolean;
  /**
   * Read special tokens written in the text ("<s>", "</s>") as those tokens (default false: they
   * are text, tokenized like any other characters).
   */
  specialTokens?: boolean;
}

interface AddedTokenJson { id: number; content: string; special?: boolean }

export class MixscopeTokenizer {
  private readonly tk: Tokenizer;
  /** The same tokenizer with special tokens not split out of text (built on first use). */
  private plain: Tokenizer | null = null;
  readonly vocabSize: number;

  constructor(private readonly tokenizerJson: unknown, private readonly tokenizerConfig: unknown = {}, private readonly file = 'tokenizer.json') {
    try {
      this.tk = new Tokenizer(tokenizerJson as object, (tokenizerConfig ?? {}) as object);
    } catch (e) {
      throw new CheckpointError('bad-tokenizer', file, `cannot build a tokenizer: ${String((e as Error).message).slice(0, 120)}`);
    }
    const vocab = (tokenizerJson as { model?: { vocab?: Record<string, number> } }).model?.vocab ?? {};
    let max = -1;
    for (const id of Object.values(vocab)) if (id > max) max = id;
    for (const id of this.tk.get_added_tokens_decoder().keys()) if (id > max) max = id;
    this.vocabSize = max + 1;
  }

  /**
   * Token ids and pieces; the beginning-of-sequence token is added as the tokenizer's template
   * says. Special tokens written in the text are text unless `specialTokens` (see above).
   */
  encode(text: string, { addSpecialTokens = true, specialTokens = false }: EncodeOptions = {}): Encoded {
    const tk = specialTokens ? this.tk : this.textTokenizer();
    const e = tk.encode(text, { add_special_tokens: addSpecialTokens });
    return { ids: e.ids, tokens: e.tokens };
  }

  /**
   * A tokenizer that does not split special tokens out of text (Hugging Face's
   * `split_special_tokens`): the same file without them among its added tokens, their ids given
   * back to the model's vocabulary so the template can still add them by name.
   */
  private textTokenizer(): Tokenizer {
    if (this.plain) return this.plain;
    const json = this.tokenizerJson as { added_tokens?: AddedTokenJson[] };
    const added = Array.isArray(json.added_tokens) ? json.added_tokens : [];
    const special = added.filter((t) => t.special);
    if (special.length === 0) return (this.plain = this.tk);
    let tk: Tokenizer;
    try {
      tk = new Tokenizer({ ...json, added_tokens: added.filter((t) => !t.special) }, (this.tokenizerConfig ?? {}) as object);
    } catch (e) {
      throw new CheckpointError('bad-tokenizer', this.file, `cannot build a tokenizer: ${String((e as Error).message).slice(0, 120)}`);
    }
    const model = tk.model as unknown as { tokens_to_ids: Map<string, number>; vocab: string[] };
    for (const t of special) {
      if (!model.tokens_to_ids.has(t.content)) model.tokens_to_ids.set(t.content, t.id);
      model.vocab[t.id] ??= t.content;
    }
    return (this.plain = tk);
  }

  decode(ids: readonly number[], { skipSpecialTokens = true } = {}): string {
    // The library refuses an empty list; the text of no tokens is "".
    if (ids.length === 0) return '';
    // No "clean-up" of spaces before punctuation: SentencePiece decodes text exactly as written.
    return this.tk.decode([...ids], { skip_special_tokens: skipSpecialTokens, clean_up_tokenization_spaces: false });
  }

  idToToken(id: number): string | undefined {
    return this.tk.id_to_token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.tk.token_to_id(token);
  }

  /**
   * A decoder for tokens arriving one at a time after `context` (the prompt's ids). Each push
   * returns the text that is complete so far: a character whose UTF-8 bytes are spread over
   * several byte-fallback tokens appears once, whole, when its last byte arrives.
   */
  streamDecoder(context: readonly number[] = []): StreamDecoder {
    return new StreamDecoder(this, context);
  }
}

const REPLACEMENT = '\uFFFD';

export class StreamDecoder {
  private readonly ids: number[];
  // Decoding a window that starts a few tokens back keeps the leading-space rules of the
  // decoder (SentencePiece's "▁" and the strip of the first space) the same as in the full text.
  private prefix: number;
  private read: number;

  constructor(private readonly tk: MixscopeTokenizer, context: readonly number[]) {
    this.ids = [...context];
    this.read = this.ids.length;
    this.prefix = Math.max(0, this.read - 4);
  }

  push(id: number): string {
    this.ids.push(id);
    const before = this.tk.decode(this.ids.slice(this.prefix, this.read));
    const now = this.tk.decode(this.ids.slice(this.prefix));
    if (now.length > before.length && !now.endsWith(REPLACEMENT) && now.startsWith(before)) {
      this.prefix = this.read;
      this.read = this.ids.length;
      return now.slice(before.length);
    }
    return '';
  }

  /** Whatever is still held back (an incomplete character is emitted as U+FFFD). */
  flush(): string {
    const before = this.tk.decode(this.ids.slice(this.prefix, this.read));
    const now = this.tk.decode(this.ids.slice(this.prefix));
    this.prefix = this.read = this.ids.length;
    return now.startsWith(before) ? now.slice(before.length) : '';
  }
}

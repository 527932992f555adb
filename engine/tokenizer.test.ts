import { describe, expect, it } from 'vitest';
import { MixscopeTokenizer } from './tokenizer.ts';
import { llamaStyleTokenizerJson } from '../tests/helpers/llama-style-tokenizer.ts';
import { CheckpointError } from './errors.ts';

const tk = new MixscopeTokenizer(llamaStyleTokenizerJson());
const byteId = (b: number) => 3 + b;

describe('Llama-style tokenizer (SentencePiece BPE with byte fallback)', () => {
  it('encodes with the <s> template and the ▁ space marker', () => {
    const e = tk.encode('hello world');
    expect(e.tokens).toEqual(['<s>', '▁hello', '▁world']);
    expect(e.ids[0]).toBe(1);
  });

  it('falls back to UTF-8 bytes for characters outside the vocabulary', () => {
    const e = tk.encode('hé', { addSpecialTokens: false });
    expect(e.tokens).toEqual(['▁h', '<0xC3>', '<0xA9>']);
    expect(tk.decode(e.ids)).toBe('hé');
  });

  it('round-trips text with emoji', () => {
    const text = 'hello 🦀 world';
    expect(tk.decode(tk.encode(text).ids)).toBe(text);
  });
});

describe('streaming decode', () => {
  it('emits a multi-byte character once, whole, when its last byte arrives', () => {
    const prompt = tk.encode('hello').ids;
    const d = tk.streamDecoder(prompt);
    const crab = [...new TextEncoder().encode('🦀')].map(byteId); // 4 byte tokens
    const pieces = [tk.tokenToId('▁world')!, ...crab, tk.tokenToId('▁h')!].map((id) => d.push(id));
    expect(pieces).toEqual([' world', '', '', '', '🦀', ' h']);
  });

  it('keeps the space that starts a continuation', () => {
    const d = tk.streamDecoder(tk.encode('hello').ids);
    expect(d.push(tk.tokenToId('▁world')!)).toBe(' world');
  });

  it('the pieces join to the full decode', () => {
    const ids = tk.encode('hello wé hello 🦀 world', { addSpecialTokens: false }).ids;
    const d = tk.streamDecoder([1]);
    const text = ids.map((id) => d.push(id)).join('') + d.flush();
    expect(text).toBe(tk.decode([1, ...ids]));
  });

  it('starts from no context at all (the first token of a text)', () => {
    expect(tk.decode([])).toBe('');
    const d = tk.streamDecoder([]);
    expect(d.push(tk.tokenToId('▁hello')!)).toBe('hello');
    expect(d.push(tk.tokenToId('▁world')!)).toBe(' world');
  });

  it('flush emits an incomplete character as U+FFFD', () => {
    const d = tk.streamDecoder([1]);
    expect(d.push(byteId(0xf0))).toBe('');
    expect(d.flush()).toBe('\uFFFD');
  });
});

describe('bad tokenizer.json', () => {
  it('is a CheckpointError naming the file', () => {
    expect(() => new MixscopeTokenizer({ model: { type: 'Nope' } })).toThrow(CheckpointError);
  });
});

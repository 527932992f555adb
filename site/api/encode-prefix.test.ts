import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { MixscopeTokenizer } from '../../engine/tokenizer.ts';
import { encodePrefix } from './encode-prefix.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const tokenizer = new MixscopeTokenizer(JSON.parse(readFileSync(path.join(ROOT, 'models/mixscope-tiny/tokenizer.json'), 'utf8')));
const encode = (t: string) => tokenizer.encode(t).ids;
const heldout = path.join(ROOT, 'training/data/heldout');

describe('encodePrefix', () => {
  it('gives the first n ids of the whole text, on every held-out text of the default model, from a prefix of it', () => {
    for (const file of readdirSync(heldout).filter((f) => f.endsWith('.txt'))) {
      // The first 12 kB: tokenizing a whole 50 kB text takes seconds on a busy machine.
      const text = readFileSync(path.join(heldout, file), 'utf8').slice(0, 12_000);
      const all = encode(text);
      for (const n of [0, 1, 16, 257, 1024]) expect(encodePrefix(encode, text, n), `${file}, ${n} tokens`).toEqual(all.slice(0, n));
    }
  }, 120_000);

  it('reads only as much of the text as it needs', () => {
    const seen: number[] = [];
    const text = 'word '.repeat(20_000);
    expect(encodePrefix((t) => { seen.push(t.length); return encode(t); }, text, 100)).toEqual(encode(text.slice(0, 2000)).slice(0, 100));
    expect(Math.max(...seen)).toBeLessThan(2000);
  });

  it('refuses a count that is not a whole number of tokens', () => {
    expect(() => encodePrefix(encode, 'abc', 1.5)).toThrow(/whole number/);
  });
});

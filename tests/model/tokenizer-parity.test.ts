// The default model's tokenizer, read from tokenizer.json by the engine, gives exactly the ids
// SentencePiece gives from tokenizer.model, on every held-out set and on hard cases.
// Golden ids: training/tokenizer_golden.py (regenerate after retraining the tokenizer).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MixscopeTokenizer } from '../../engine/tokenizer.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tk = new MixscopeTokenizer(JSON.parse(readFileSync(`${root}models/mixscope-tiny/tokenizer.json`, 'utf8')));
const golden = JSON.parse(readFileSync(`${root}training/data/tokenizer-golden.json`, 'utf8')) as {
  cases: { name: string; text: string; ids: number[]; special_text?: boolean }[];
};
const plain = golden.cases.filter((c) => !c.special_text);

describe('default tokenizer matches SentencePiece exactly', () => {
  it('covers every held-out domain', () => {
    expect(plain.filter((c) => c.name.startsWith('heldout/')).length).toBeGreaterThanOrEqual(6);
  });

  it.each(plain.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const ids = tk.encode(c.text).ids;
    expect(ids.length).toBe(c.ids.length);
    const first = ids.findIndex((id, i) => id !== c.ids[i]);
    expect(first, `first difference at token ${first}`).toBe(-1);
  });

  it('decodes every held-out set back to its text', () => {
    for (const c of plain) {
      if (c.name.startsWith('heldout/')) expect(tk.decode(c.ids)).toBe(c.text);
    }
  });

  it('with specialTokens, reads text that spells a special token as that token, as Hugging Face tokenizers do', () => {
    const c = golden.cases.find((x) => x.special_text && x.text === '<unk>')!;
    expect(tk.encode(c.text, { specialTokens: true }).tokens).toEqual(['<s>', '<unk>']);
  });

  it('by default, text that spells a special token ("</s>" in a prompt) is text, with exactly the ids SentencePiece gives', () => {
    const cases = golden.cases.filter((x) => x.special_text);
    expect(cases.map((c) => c.text)).toContain('<s> not special </s>');
    for (const c of cases) expect(tk.encode(c.text).ids).toEqual(c.ids);
  });
});

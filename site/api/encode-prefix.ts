// The first n token ids of a long text without tokenizing all of it. The tokenizer's cost grows
// with the text it is given (a 50 kB held-out text takes seconds, all in one main-thread task),
// and notebooks want the first few hundred tokens of such texts. A cut in the text changes only
// the tokens near the cut, so a prefix that yields `margin` ids past n gives the text's own first
// n; the prefix doubles until it does (site/api/encode-prefix.test.ts checks every held-out text).

/** encode(text).slice(0, n), reading as little of `text` as gives it. */
export function encodePrefix(encode: (text: string) => number[], text: string, n: number, margin = 32): number[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`maxTokens must be a whole number of tokens, got ${n}`);
  // About 4 characters a token in prose; code and arithmetic have fewer, so this over-reads there.
  for (let chars = Math.max(256, 4 * (n + margin)); ; chars *= 2) {
    if (chars >= text.length) return encode(text).slice(0, n);
    const ids = encode(text.slice(0, chars));
    if (ids.length >= n + margin) return ids.slice(0, n);
  }
}

// Messages quote at most a short excerpt of what they found.
import { describe, expect, it } from 'vitest';
import { CheckpointError, describeValue, excerpt, NonFiniteError } from './errors.ts';

describe('excerpts of untrusted input', () => {
  it('quotes a short text whole, and a long one cut with its size', () => {
    expect(excerpt('F32')).toBe('"F32"');
    expect(excerpt('x'.repeat(10_000_000))).toBe(`"${'x'.repeat(120)}"... (10000000 bytes)`);
    expect(excerpt('é'.repeat(200), 10)).toBe(`"${'é'.repeat(10)}"... (400 bytes)`);
  });

  it('never cuts a character in two', () => {
    const text = `${'a'.repeat(9)}😀${'b'.repeat(50)}`;
    expect(excerpt(text, 10)).toBe(`"${'a'.repeat(9)}"... (63 bytes)`);
  });

  it('describes any value in a bounded length, however large or deep', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(describeValue(deep).length).toBeLessThanOrEqual(123);
    expect(describeValue(new Array(1e6).fill(7)).length).toBeLessThanOrEqual(123);
    expect(describeValue({ a: 1, b: [2, 3], c: 'x' })).toBe('{"a":1,"b":[2,3],"c":"x"}');
    expect(describeValue(NaN)).toBe('null');
  });

  it('names a file and tensor of any length in a short message', () => {
    const e = new CheckpointError('bad-header', 'f'.repeat(1000), 'bad', 't'.repeat(1000));
    expect(e.message.length).toBeLessThan(300);
    expect(e.file.length).toBe(1000);
  });

  it('a NonFiniteError says where and at which position', () => {
    expect(new NonFiniteError('router', 7, 3, 'probability NaN for expert 2').message).toMatch(/^layer 3's router gave numbers that are not finite at position 7 \(probability NaN for expert 2\): /);
    expect(new NonFiniteError('logits', 5).message).toMatch(/^the logits at position 5 are not finite numbers: /);
  });
});

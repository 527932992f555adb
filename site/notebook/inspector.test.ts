import { describe, expect, it } from 'vitest';
import { summary } from './inspector.ts';

describe('summary', () => {
  it('shows primitives the way they are written', () => {
    expect([summary('a"b'), summary(3.5), summary(-0), summary(2n), summary(undefined), summary(null), summary(true)])
      .toEqual(['"a\\"b"', '3.5', '-0', '2n', 'undefined', 'null', 'true']);
  });

  it('shows containers on one line with their size and abbreviates nesting', () => {
    expect(summary([1, 'x', [2, 3]])).toBe('Array(3) [1, "x", Array(2)]');
    expect(summary({ a: 1, b: { c: 2 } })).toBe('{a: 1, b: {…}}');
    expect(summary(new Map([['k', 1]]))).toBe('Map(1) {"k": 1}');
    expect(summary(new Float32Array([0.5, 1]))).toBe('Float32Array(2) [0.5, 1]');
    expect(summary(Array.from({ length: 10 }, (_, i) => i))).toBe('Array(10) [0, 1, 2, 3, 4, 5, …]');
  });

  it('names functions and errors', () => {
    expect(summary(function f(_a: number) { return _a; })).toBe('ƒ f(…)');
    expect(summary(new TypeError('bad'))).toBe('TypeError: bad');
  });
});

// Command-line flags: integers are integers, and every mistake is one short line.
import { describe, expect, it } from 'vitest';
import { integerFlag, parseCliArgs, UsageError } from './args.ts';

describe('integer flags', () => {
  const seed = (raw: string) => integerFlag({ seed: raw }, 'seed', { min: 0, max: 2 ** 32 - 1 });
  it('read decimal digits, and only those', () => {
    expect(seed('0')).toBe(0);
    expect(seed(' 42 ')).toBe(42);
    expect(seed('007')).toBe(7);
    expect(seed('4294967295')).toBe(4294967295);
    expect(integerFlag({}, 'seed', { min: 0, max: 9, fallback: 3 })).toBe(3);
  });
  it.each(['1.5', '1e3', '0x10', '-1', '4294967296', '9007199254740993', '', 'abc', '1_000', 'Infinity'])('refuse %j rather than read it as another value', (raw) => {
    expect(() => seed(raw)).toThrow(UsageError);
    expect(() => seed(raw)).toThrow(/--seed must be an integer from 0 to 4294967295/);
  });
  it('quote a long value as an excerpt', () => {
    expect(() => seed('9'.repeat(100_000))).toThrow(/got "9{40}"\.\.\. \(100000 bytes\)$/);
  });
});

describe('parse errors', () => {
  it.each([
    [['generate', '--bogus'], 'unknown option "--bogus"'],
    [['generate', '--prompt'], '--prompt needs a value'],
    [['generate', '--json=yes'], '--json takes no value'],
    [['generate', 'extra'], 'unexpected argument "extra"'],
  ])('%j: %s', (argv, message) => {
    expect(() => parseCliArgs(argv)).toThrow(new UsageError(message));
  });
});

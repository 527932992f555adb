// Command-line arguments: `<command> [--flag value]...`, parsed with node:util's parseArgs.
// Every mistake is a UsageError of one line (main.ts prints it with a pointer to --help).
import { parseArgs } from 'node:util';
import { excerpt } from '../errors.ts';
import { WEIGHT_FORMATS, isWeightFormat, type WeightFormat } from '../footprint/formats.ts';

export const OPTIONS = {
  model: { type: 'string' },
  token: { type: 'string' },
  text: { type: 'string' },
  'text-file': { type: 'string' },
  ids: { type: 'string' },
  prompt: { type: 'string' },
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-p': { type: 'string' },
  'top-k': { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  weights: { type: 'string' },
  hooks: { type: 'string' },
  'special-tokens': { type: 'boolean' },
  top: { type: 'string' },
  'min-count': { type: 'string' },
  clean: { type: 'string' },
  corrupt: { type: 'string' },
  answer: { type: 'string' },
  wrong: { type: 'string' },
  what: { type: 'string' },
  json: { type: 'boolean' },
  'no-weights': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface CliArgs {
  command: string | undefined;
  values: { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An argument quoted in a message: short however long it is. */
const quoted = (s: string) => excerpt(s, 40);

export function parseCliArgs(argv: string[]): CliArgs {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    if (positionals.length > 1) throw new UsageError(`unexpected argument ${quoted(positionals[1])}`);
    return { command: positionals[0], values: values as CliArgs['values'] };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    // node:util's own messages run to several sentences: say the same in a few words.
    const err = e as Error & { code?: string };
    const option = /'(--?[^' ]+)/.exec(err.message)?.[1];
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) throw new UsageError(`unknown option ${quoted(option)}`);
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
      throw new UsageError(/does not take/.test(err.message) ? `${option} takes no value` : `${option} needs a value`);
    }
    throw new UsageError(err.message.split('. ')[0]);
  }
}

type NumberFlag = 'temperature' | 'top-p';
type IntegerFlag = 'max-tokens' | 'top-k' | 'seed';

/** A number flag (--temperature, --top-p): a finite decimal number. Integer flags take integerFlag. */
export function numberFlag(values: CliArgs['values'], name: NumberFlag | IntegerFlag, fallback?: number): number | undefined {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got ${quoted(raw)}`);
  return n;
}

/**
 * An integer flag within [min, max], written in decimal digits: "1.5", "1e3", "0x10" and
 * values past max are refused, never rounded or wrapped into another value.
 */
export function integerFlag(values: CliArgs['values'], name: IntegerFlag, { min, max, fallback }: { min: number; max: number; fallback?: number }): number | undefined {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const text = raw.trim();
  // Digits only, so the value read is the value written (Number('1e3') and Number('0x10') are not).
  let digits = text.startsWith('-') ? text.slice(1) : text;
  if (digits === '' || [...digits].some((ch) => ch < '0' || ch > '9')) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${quoted(raw)}`);
  }
  digits = digits.replace(/^0+(?=\d)/, '');
  const n = (text.startsWith('-') ? -1 : 1) * Number(digits);
  if (digits.length > 16 || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${quoted(raw)}`);
  return n;
}

/** "1,2,3" -> [1, 2, 3]; anything that is not a list of non-negative integers is an error. */
export function parseIds(raw: string): number[] {
  const parts = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new UsageError('--ids is empty: give comma-separated token ids, e.g. --ids 1,2,3');
  return parts.map((p) => {
    if (!/^\d+$/.test(p) || p.length > 10) throw new UsageError(`--ids: ${quoted(p)} is not a token id`);
    return Number(p);
  });
}

/** --weights f32|f16|q8|q4, or undefined when absent (each engine then keeps its default). */
export function weightsFlag(values: CliArgs['values']): WeightFormat | undefined {
  const raw = values.weights;
  if (raw === undefined) return undefined;
  if (!isWeightFormat(raw)) throw new UsageError(`--weights must be one of ${WEIGHT_FORMATS.join(', ')}, got ${quoted(raw)}`);
  return raw;
}

// Command-line arguments: `<command> [--flag value]...`, parsed with node:util's parseArgs.
import { parseArgs } from 'node:util';

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
  hooks: { type: 'string' },
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

export function parseCliArgs(argv: string[]): CliArgs {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
    return { command: positionals[0], values: values as CliArgs['values'] };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message);
  }
}

export function numberFlag(values: CliArgs['values'], name: 'max-tokens' | 'temperature' | 'top-p' | 'top-k' | 'seed', fallback?: number): number | undefined {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${raw}"`);
  return n;
}

/** "1,2,3" -> [1, 2, 3]; anything that is not a list of non-negative integers is an error. */
export function parseIds(raw: string): number[] {
  const parts = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new UsageError('--ids is empty: give comma-separated token ids, e.g. --ids 1,2,3');
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new UsageError(`--ids: "${p}" is not a token id`);
    return Number(p);
  });
}

// Flags of the research commands (experts, lens, patch): whole numbers and the text they read.
import { readFile } from 'node:fs/promises';
import { UsageError, type CliArgs } from './args.ts';

type Values = CliArgs['values'];

/** A flag that must be a positive integer, or `fallback` when absent. */
export function positiveInt(values: Values, name: 'top' | 'min-count', fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got "${raw.slice(0, 40)}"`);
  return n;
}

/** The text of --text-file F, else --text T, else undefined. */
export async function textFlag(values: Values): Promise<string | undefined> {
  if (values['text-file']) return readFile(values['text-file'], 'utf8');
  return values.text;
}

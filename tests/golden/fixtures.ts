// Reading the golden fixtures written by tests/reference/make_fixtures.py.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const GOLDEN_DIR = fileURLToPath(new URL('../fixtures/golden/', import.meta.url));

export interface GoldenIntervention {
  kind: 'ablate' | 'router_bias' | 'zero_head';
  layer: number;
  experts?: number[];
  bias?: number[];
  head?: number;
  logits: number[][];
  experts_chosen?: number[][][];
}

export interface GoldenExpected {
  ids: number[];
  logits: number[][];
  router_logits: number[][][];
  experts: number[][][];
  expert_weights: number[][][];
  attn_pattern: number[][][][];
  resid_post: number[][][];
  topk_margin?: number[][];
  greedy: { prompt: number[]; tokens: number[] };
  interventions?: GoldenIntervention[];
}

export function goldenCases(): { name: string; dir: string; expected: GoldenExpected }[] {
  if (!existsSync(GOLDEN_DIR)) return [];
  return readdirSync(GOLDEN_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(GOLDEN_DIR, d.name, 'expected.json')))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const dir = path.join(GOLDEN_DIR, name);
      return { name, dir, expected: JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as GoldenExpected };
    });
}

/** Largest |a - b| over a flat typed array against nested expected rows. */
export function maxAbsDiff(actual: ArrayLike<number>, expected: unknown): number {
  const flat = (expected as unknown[]).flat(Infinity as 1) as number[];
  if (flat.length !== actual.length) throw new Error(`length ${actual.length} != expected ${flat.length}`);
  let m = 0;
  for (let i = 0; i < flat.length; i++) m = Math.max(m, Math.abs(actual[i] - flat[i]));
  return m;
}

/** expected.json of a family case (tests/fixtures/golden/<model_type>/<case>/, README "The other families"). */
export interface FamilyGoldenIntervention extends Omit<GoldenIntervention, 'kind' | 'experts_chosen'> {
  kind: GoldenIntervention['kind'] | 'force';
  positions?: number[];
  weights?: number[];
  experts_chosen?: (number[][] | null)[];
}

export interface FamilyGoldenExpected {
  family: string;
  ids: number[];
  moe_layers: boolean[];
  logits: number[][];
  embed: number[][];
  router_logits: (number[][] | null)[];
  router_probs: (number[][] | null)[];
  experts: (number[][] | null)[];
  expert_weights: (number[][] | null)[];
  attn_pattern: number[][][][];
  mlp_out: number[][][];
  resid_post: number[][][];
  q_normed?: number[][][][];
  k_normed?: number[][][][];
  shared_out?: (number[][] | null)[];
  shared_gate?: (number[] | null)[];
  greedy: { prompt: number[]; tokens: number[] };
  interventions?: FamilyGoldenIntervention[];
}

/** Every family case, named `<model_type>/<case>`. */
export function familyGoldenCases(): { name: string; dir: string; expected: FamilyGoldenExpected }[] {
  if (!existsSync(GOLDEN_DIR)) return [];
  const out: { name: string; dir: string; expected: FamilyGoldenExpected }[] = [];
  for (const family of readdirSync(GOLDEN_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    const fdir = path.join(GOLDEN_DIR, family);
    if (existsSync(path.join(fdir, 'expected.json'))) continue; // a Mixtral case
    for (const c of readdirSync(fdir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
      const dir = path.join(fdir, c);
      if (!existsSync(path.join(dir, 'expected.json'))) continue;
      out.push({ name: `${family}/${c}`, dir, expected: JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as FamilyGoldenExpected });
    }
  }
  return out;
}

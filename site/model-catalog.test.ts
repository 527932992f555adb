import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { CATALOG, catalogRow } from './model-catalog.ts';

describe('the open dialog\'s catalog of known MoE checkpoints', () => {
  it('lists every config the project ships, with the counts tests/reference/count_params.py checks', () => {
    expect(CATALOG).toHaveLength(readdirSync(path.resolve(import.meta.dirname, '../models/configs')).filter((f) => f.endsWith('.json')).length);
    const byRepo = Object.fromEntries(CATALOG.map((e) => [e.repo, catalogRow(e)]));
    expect(byRepo['mistralai/Mixtral-8x7B-v0.1']).toMatchObject({ total: 46702792704, activePerToken: 12879925248, modelType: 'mixtral' });
    expect(byRepo['mistralai/Mixtral-8x22B-v0.1']).toMatchObject({ total: 140620634112, activePerToken: 39152031744 });
    expect(byRepo['allenai/OLMoE-1B-7B-0924']).toMatchObject({ total: 6919161856, activePerToken: 1282017280 });
    expect(byRepo['Qwen/Qwen1.5-MoE-A2.7B-Chat']).toMatchObject({ total: 14315784192, activePerToken: 2689173504 });
    expect(byRepo['Qwen/Qwen3-30B-A3B']).toMatchObject({ total: 30532122624, activePerToken: 3353032704 });
    expect(byRepo['ibm-granite/granite-3.1-1b-a400m-instruct']).toMatchObject({ total: 1334628352, activePerToken: 428658688 });
  });

  it('files are 16-bit; memory shrinks f16 > q8 > q4, and is smallest first', () => {
    const rows = CATALOG.map(catalogRow);
    for (const r of rows) {
      expect(r.fileBytes).toBe(2 * r.total);
      expect(r.memory.f16).toBeGreaterThan(r.memory.q8);
      expect(r.memory.q8).toBeGreaterThan(r.memory.q4);
    }
    expect(rows.map((r) => r.total)).toEqual([...rows.map((r) => r.total)].sort((a, b) => a - b));
  });
});

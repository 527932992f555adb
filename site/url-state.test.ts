import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseNotebook } from './notebook/parse.ts';
import { ADDRESS_KEYS, ALIASES } from './url-state.ts';

const dir = path.resolve(import.meta.dirname, '../notebooks');
const notebooks = readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'README.md')
  .map((f) => parseNotebook(readFileSync(path.join(dir, f), 'utf8'), f.replace(/\.md$/, '')));

describe('one set of address keys', () => {
  it('every key a notebook keeps in the address is one of ADDRESS_KEYS, with its meaning', () => {
    const unknown = notebooks.flatMap((nb) => nb.listing.keys.filter((k) => !(k in ADDRESS_KEYS)).map((k) => `${nb.meta.slug}: ${k}`));
    expect(unknown).toEqual([]);
  });

  it('an earlier name is read as a key of the set, never as another earlier name', () => {
    for (const [old, now] of Object.entries(ALIASES)) {
      expect(ADDRESS_KEYS, `${old} -> ${now}`).toHaveProperty([now]);
      expect(ADDRESS_KEYS, old).not.toHaveProperty([old]);
    }
  });
});

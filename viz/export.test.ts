import { describe, expect, it } from 'vitest';
import { csvCell, rowsToCsv, rowsToJson } from './export.ts';

describe('rowsToCsv', () => {
  it('leaves plain fields bare and quotes fields holding a comma, quote, line break or edge space', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell(0.25)).toBe('0.25');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"');
    expect(csvCell('cr\r')).toBe('"cr\r"');
    expect(csvCell(' the')).toBe('" the"');
    expect(csvCell('')).toBe('');
    expect(csvCell(null)).toBe('');
  });

  it('writes a header of every key in order of first appearance, CRLF line ends, and empty cells for missing keys', () => {
    const csv = rowsToCsv([{ position: 0, text: 'def' }, { position: 1, text: ' "x",\n', extra: 3 }]);
    expect(csv).toBe('position,text,extra\r\n0,def,\r\n1," ""x"",\n",3\r\n');
  });

  it('round-trips through a strict CSV reader', () => {
    const rows = [{ a: 'x,"y"', b: '\n', c: 1 }, { a: '<img src=x onerror=alert(1)>', b: ' ', c: -2.5 }];
    expect(parseCsv(rowsToCsv(rows))).toEqual([['a', 'b', 'c'], ['x,"y"', '\n', '1'], ['<img src=x onerror=alert(1)>', ' ', '-2.5']]);
  });

  it('gives a header-only file with no rows and JSON that parses back to the rows', () => {
    expect(rowsToCsv([])).toBe('\r\n');
    const rows = [{ text: '"\n', p: 0.5 }];
    expect(JSON.parse(rowsToJson(rows))).toEqual(rows);
  });
});

/** RFC 4180 reader, as a check independent of the writer. */
function parseCsv(s: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [], field = '', i = 0, quoted = false;
  while (i < s.length) {
    const ch = s[i];
    if (quoted) {
      if (ch === '"' && s[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (ch === '"') { quoted = false; i++; continue; }
      field += ch; i++; continue;
    }
    if (ch === '"') { quoted = true; i++; continue; }
    if (ch === ',') { row.push(field); field = ''; i++; continue; }
    if (ch === '\r' && s[i + 1] === '\n') { row.push(field); out.push(row); row = []; field = ''; i += 2; continue; }
    field += ch; i++;
  }
  return out;
}

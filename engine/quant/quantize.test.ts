import { describe, expect, it } from 'vitest';
import { dequantRow, quantizeRows, quantBytes } from './quantize.ts';
import { matrixBytes } from '../footprint/formats.ts';
import { seededRandom } from '../sampling.ts';

const rowsOf = (a: Float32Array, cols: number) => (r: number, out: Float32Array) => out.set(a.subarray(r * cols, (r + 1) * cols));

describe('q8 and q4 weights in groups of 32 along a row', () => {
  const rows = 5, cols = 70; // a short last group
  const rand = seededRandom(3);
  const a = Float32Array.from({ length: rows * cols }, () => (rand() - 0.5) * 0.2);

  it('take the bytes formats.ts says, and dequantize within half a step of each group', () => {
    for (const format of ['q8', 'q4'] as const) {
      const m = quantizeRows(format, rows, cols, rowsOf(a, cols));
      expect(quantBytes(m)).toBe(matrixBytes(format, rows, cols));
      const out = new Float32Array(cols);
      for (let r = 0; r < rows; r++) {
        dequantRow(m, r, out);
        for (let g = 0; g * 32 < cols; g++) {
          const seg = Array.from(a.subarray(r * cols + g * 32, r * cols + Math.min(cols, g * 32 + 32)));
          const lo = Math.min(...seg), hi = Math.max(...seg), amax = Math.max(...seg.map(Math.abs));
          const step = format === 'q8' ? amax / 127 : (hi - lo) / 15;
          for (let i = 0; i < seg.length; i++) expect(Math.abs(out[g * 32 + i] - seg[i])).toBeLessThanOrEqual(step * 0.5 + 1e-3 * step + 1e-6);
        }
      }
    }
  });

  it('keep exact values of a group exactly: zeros, and the extremes q8 scales by', () => {
    const z = quantizeRows('q8', 1, 32, (_, out) => out.fill(0));
    expect(Array.from(dequantRow(z, 0, new Float32Array(32)))).toEqual(new Array(32).fill(0));
    const q4 = quantizeRows('q4', 1, 32, (_, out) => out.fill(0.5));
    expect(Array.from(dequantRow(q4, 0, new Float32Array(32)))).toEqual(new Array(32).fill(0.5));
  });
});

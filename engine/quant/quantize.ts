// 8- and 4-bit weights for the CPU engine (the WGSL kernels read the same numbers: shaders/lib/weights.wgsl), groups of
// 32 weights along a row (the input dimension), as engine/footprint/formats.ts sizes them:
//   q8  int8 q, one f16 scale s per group:                 w = q * s,      s = max|w| / 127
//   q4  4-bit q (two a byte, the even index in the low nibble), an f16 scale s and minimum m
//       per group:                                        w = q * s + m,  m = min w, s = (max w - m) / 15
// The scale (and minimum) are rounded to f16 first and q computed against the rounded values,
// so dequantizing is exactly these float32 expressions of stored numbers: a GPU twin that
// computes them in f32 (q * s, then + m) gets the same bits.
// Pure and browser-safe.
import { halfTable } from '../checkpoint/dtype.ts';
import { floatToHalf } from '../webgpu/f16.ts';
import { QUANT_GROUP } from '../footprint/formats.ts';

export interface QuantMatrix {
  readonly format: 'q8' | 'q4';
  readonly rows: number;
  readonly cols: number;
  /** q8: one int8 per weight; q4: two weights a byte, rows padded to whole bytes. */
  readonly q: Uint8Array;
  /** f16 bits, (rows, groups). */
  readonly scale: Uint16Array;
  /** q4 only: f16 bits, (rows, groups). */
  readonly min?: Uint16Array;
}

const groupsOf = (cols: number) => Math.ceil(cols / QUANT_GROUP);
const f16 = (h: number) => halfTable()[h];

/** Quantize a (rows, cols) matrix given row by row (`row(r, out)` fills out with row r). */
export function quantizeRows(format: 'q8' | 'q4', rows: number, cols: number, row: (r: number, out: Float32Array) => void): QuantMatrix {
  const G = groupsOf(cols);
  const rowBytes = format === 'q8' ? cols : Math.ceil(cols / 2);
  const q = new Uint8Array(rows * rowBytes);
  const scale = new Uint16Array(rows * G);
  const min = format === 'q4' ? new Uint16Array(rows * G) : undefined;
  const x = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    row(r, x);
    for (let g = 0; g < G; g++) {
      const a = g * QUANT_GROUP, b = Math.min(cols, a + QUANT_GROUP);
      if (format === 'q8') {
        let m = 0;
        for (let i = a; i < b; i++) m = Math.max(m, Math.abs(x[i]));
        const sh = floatToHalf(m / 127), s = f16(sh);
        scale[r * G + g] = sh;
        for (let i = a; i < b; i++) {
          const v = s > 0 ? Math.max(-127, Math.min(127, Math.round(x[i] / s))) : 0;
          q[r * rowBytes + i] = v & 0xff;
        }
      } else {
        let lo = Infinity, hi = -Infinity;
        for (let i = a; i < b; i++) { lo = Math.min(lo, x[i]); hi = Math.max(hi, x[i]); }
        const mh = floatToHalf(lo), m = f16(mh);
        const sh = floatToHalf((hi - m) / 15), s = f16(sh);
        scale[r * G + g] = sh;
        min![r * G + g] = mh;
        for (let i = a; i < b; i++) {
          const v = s > 0 ? Math.max(0, Math.min(15, Math.round((x[i] - m) / s))) : 0;
          const at = r * rowBytes + (i >> 1);
          q[at] |= i & 1 ? v << 4 : v;
        }
      }
    }
  }
  return { format, rows, cols, q, scale, min };
}

/** Row r of `m`, dequantized into out (float32 arithmetic: q * s, then + m for q4). */
export function dequantRow(m: QuantMatrix, r: number, out: Float32Array): Float32Array {
  const { cols } = m, G = groupsOf(cols), t = halfTable();
  if (m.format === 'q8') {
    const o = r * cols;
    for (let i = 0; i < cols; i++) {
      const v = m.q[o + i];
      out[i] = (v > 127 ? v - 256 : v) * t[m.scale[r * G + ((i / QUANT_GROUP) | 0)]];
    }
  } else {
    const o = r * Math.ceil(cols / 2);
    for (let i = 0; i < cols; i++) {
      const byte = m.q[o + (i >> 1)];
      const g = r * G + ((i / QUANT_GROUP) | 0);
      out[i] = Math.fround((i & 1 ? byte >> 4 : byte & 15) * t[m.scale[g]]) + t[m.min![g]];
    }
  }
  return out;
}

export const quantBytes = (m: QuantMatrix) => m.q.byteLength + m.scale.byteLength + (m.min?.byteLength ?? 0);

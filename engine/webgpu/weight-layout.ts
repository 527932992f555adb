// How one part of a weight matrix sits in its GPU buffer, per format. A part is `rows` whole rows
// of `cols` values (cols: the input dimension, the one a matrix-vector product reduces over):
//   f32  rows * cols floats;  f16  rows * cols halves packed two a u32 (f16.ts: packF16);
//   q8   [q: rows * cols int8, 4 a u32, row-major] [scale: rows * G f16, 2 a u32]
//   q4   [q: rows * cols/2 bytes, 8 nibbles a u32, the even index in the low nibble]
//        [scale: rows * G f16] [min: rows * G f16]
// with G = cols / 32 groups a row (engine/quant/quantize.ts: the same numbers, the same order).
// Each region starts on a 16-byte boundary (WebGPU's copy and binding alignment), so a kernel
// finds a region at a word offset the host computes with this function and passes as a param.
import type { WeightFormat } from '../footprint/formats.ts';
import { QUANT_GROUP } from '../footprint/formats.ts';

export interface PartLayout {
  /** Bytes of the q (or f16/f32 values) region. */
  valueBytes: number;
  /** Byte offsets of the scale and min regions (0 where the format has none). */
  scaleOffset: number;
  minOffset: number;
  /** Bytes the buffer holds in all (a multiple of 16). */
  bytes: number;
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/** Bytes a row of `cols` values takes in the value (or q) region of `format`. */
export function rowValueBytes(format: WeightFormat, cols: number): number {
  return format === 'f32' ? 4 * cols : format === 'f16' || format === 'q8' ? (format === 'f16' ? 2 : 1) * cols : cols / 2;
}

/** The layout of `rows` rows of `cols` values stored as `format`. */
export function partLayout(format: WeightFormat, rows: number, cols: number): PartLayout {
  const valueBytes = rows * rowValueBytes(format, cols);
  if (format === 'f32' || format === 'f16') return { valueBytes, scaleOffset: 0, minOffset: 0, bytes: align16(valueBytes) };
  const groupBytes = 2 * rows * (cols / QUANT_GROUP);
  const scaleOffset = align16(valueBytes);
  const minOffset = format === 'q4' ? align16(scaleOffset + groupBytes) : 0;
  return { valueBytes, scaleOffset, minOffset, bytes: align16((format === 'q4' ? minOffset : scaleOffset) + groupBytes) };
}

/** Whether a matrix of `cols` columns can be stored as `format` (quantized rows are whole groups of 32). */
export function fitsFormat(format: WeightFormat, cols: number): boolean {
  return format === 'f32' || format === 'f16' ? cols % 2 === 0 : cols % QUANT_GROUP === 0;
}

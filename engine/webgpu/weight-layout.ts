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
import type { QuantMatrix } from '../quant/quantize.ts';

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

/**
 * Where the scale and min regions of a part start, in 32-bit words: the `at` pair every kernel
 * that reads a big matrix takes in its params (0, 0 for f32 and f16, which have none).
 */
export function regionWords(format: WeightFormat, rows: number, cols: number): [number, number] {
  const l = partLayout(format, rows, cols);
  return [l.scaleOffset / 4, l.minOffset / 4];
}

/** Bytes the kernels read of a part of `rows` rows of `cols` values (f32/f16: the values alone, unpadded). */
export function weightBytes(format: WeightFormat, rows: number, cols: number): number {
  return format === 'f32' || format === 'f16' ? rows * rowValueBytes(format, cols) : partLayout(format, rows, cols).bytes;
}

/** A quantized matrix laid out as one part (the bytes WeightWriter writes for the same rows): tests' and tools' uploads. */
export function quantPart(m: QuantMatrix): Uint8Array<ArrayBuffer> {
  const l = partLayout(m.format, m.rows, m.cols), out = new Uint8Array(l.bytes);
  out.set(m.q, 0);
  out.set(new Uint8Array(m.scale.buffer, m.scale.byteOffset, m.scale.byteLength), l.scaleOffset);
  if (m.min) out.set(new Uint8Array(m.min.buffer, m.min.byteOffset, m.min.byteLength), l.minOffset);
  return out;
}

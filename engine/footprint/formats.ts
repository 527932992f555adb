// How many bytes a weight matrix takes in each format an engine can keep it in. A matrix is
// (rows, cols) with cols the input dimension, the one a matrix-vector product reduces over, so
// quantization groups run along a row:
//   f32  4 bytes a weight; f16  2 bytes (packed halves);
//   q8   int8 weights, one f16 scale per group of 32 (34 bytes per 32 weights, 1.0625 a weight);
//   q4   4-bit weights, an f16 scale and an f16 minimum per group of 32 (20 bytes per 32, 0.625).
// A row's last group may be short; it still has its scale (and minimum). Vectors (norms, biases)
// and the router's gate always stay f32: they are small, and routing is what people study.
// Pure and browser-safe.

export type WeightFormat = 'f32' | 'f16' | 'q8' | 'q4';
export const WEIGHT_FORMATS: readonly WeightFormat[] = ['f32', 'f16', 'q8', 'q4'];
/** Weights per quantization group, along the input dimension. */
export const QUANT_GROUP = 32;

export function isWeightFormat(s: unknown): s is WeightFormat {
  return s === 'f32' || s === 'f16' || s === 'q8' || s === 'q4';
}

/** Bytes of a (rows, cols) matrix stored as `format`. */
export function matrixBytes(format: WeightFormat, rows: number, cols: number): number {
  const groups = Math.ceil(cols / QUANT_GROUP);
  switch (format) {
    case 'f32': return 4 * rows * cols;
    case 'f16': return 2 * rows * cols;
    case 'q8': return rows * (cols + 2 * groups);
    case 'q4': return rows * (Math.ceil(cols / 2) + 4 * groups);
  }
}

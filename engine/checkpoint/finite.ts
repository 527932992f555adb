// Weights must be finite numbers: the first NaN or infinity of a tensor, found on its stored
// bytes (F32, F16, BF16) so that a loader keeping 16-bit weights checks them without decoding.
// An all-ones exponent is an infinity (zero mantissa) or a NaN, in each of the three formats.
import { CheckpointError } from '../errors.ts';
import type { DType } from './dtype.ts';

/** The first element that is NaN or infinite, or -1: x - x is 0 for every finite x. */
export function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (x - x !== 0) return i;
  }
  return -1;
}

/** Exponent and mantissa masks of the 16-bit formats. */
const HALF = { F16: { exp: 0x7c00, frac: 0x03ff }, BF16: { exp: 0x7f80, frac: 0x007f } } as const;

/** The first non-finite element of `bytes` (little-endian `dtype`) and what it is, or null. */
export function firstNonFiniteStored(bytes: Uint8Array, dtype: DType): { index: number; value: number } | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F32') {
    const n = bytes.length >> 2;
    const aligned = bytes.byteOffset % 4 === 0;
    const f = aligned ? new Float32Array(bytes.buffer, bytes.byteOffset, n) : null;
    for (let i = 0; i < n; i++) {
      const x = f ? f[i] : view.getFloat32(4 * i, true);
      if (x - x !== 0) return { index: i, value: x };
    }
    return null;
  }
  const { exp, frac } = HALF[dtype];
  const n = bytes.length >> 1;
  const w = bytes.byteOffset % 2 === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, n) : null;
  for (let i = 0; i < n; i++) {
    const h = w ? w[i] : view.getUint16(2 * i, true);
    if ((h & exp) === exp) return { index: i, value: h & frac ? NaN : h & 0x8000 ? -Infinity : Infinity };
  }
  return null;
}

/** Flat index `i` of a tensor of `shape` as [row, column, ...]. */
function position(i: number, shape: readonly number[]): number[] {
  const at = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { at[d] = i % shape[d]; i = Math.floor(i / shape[d]); }
  return at;
}

/** Throws CheckpointError 'non-finite' naming the tensor, the element and what it holds. */
export function checkFiniteStored(bytes: Uint8Array, dtype: DType, shape: readonly number[], file: string, name: string): void {
  const bad = firstNonFiniteStored(bytes, dtype);
  if (!bad) return;
  const { index, value: v } = bad;
  const count = shape.reduce((a, d) => a * d, 1);
  throw new CheckpointError('non-finite', file,
    `holds ${Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'} at [${position(index, shape)}] (flat index ${index} of ${count}): weights must be finite numbers`, name);
}

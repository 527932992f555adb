// float32 -> IEEE 754 binary16, rounding to nearest with ties to even, and the packing of
// halves into u32 pairs that WGSL's unpack2x16float reads (element 2i in the low 16 bits).
// Packed pairs let F16 weights live on adapters without shader-f16 (SwiftShader among them).
import { halfToFloat } from '../checkpoint/dtype.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The binary16 bit pattern nearest to the float32 value of `v`, ties to even. Overflow gives
 * infinity, underflow gives subnormals then signed zero, NaN stays a (quiet) NaN. A float64
 * argument is first rounded to float32, as storing it in a Float32Array would.
 */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15; // the biased binary16 exponent
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Below the smallest normal half: count whole units of 2^-24, then round what is left.
    if (e < -10) return sign; // |v| < 2^-25, which is at most half a unit: ties go to even 0
    const m = mant | 0x800000;
    const shift = 14 - e;
    const rest = m & ((1 << shift) - 1), half = 1 << (shift - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && h & 1)) h++; // may carry into the smallest normal
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // a carry may reach the exponent, or infinity
  return sign | h;
}

/** `values` (even length) rounded to halves and packed two per u32: (T, In) floats -> (T, In/2) words. */
export function packF16(values: ArrayLike<number>): Uint32Array {
  if (values.length % 2 !== 0) throw new RangeError(`packing f16 pairs needs an even length, got ${values.length}`);
  const out = new Uint32Array(values.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (floatToHalf(values[2 * i]) | (floatToHalf(values[2 * i + 1]) << 16)) >>> 0;
  return out;
}

/** The exact float32 values of packed half pairs: the inverse of `packF16` on representable values. */
export function unpackF16(words: Uint32Array): Float32Array {
  const out = new Float32Array(2 * words.length);
  for (let i = 0; i < words.length; i++) {
    out[2 * i] = halfToFloat(words[i] & 0xffff);
    out[2 * i + 1] = halfToFloat(words[i] >>> 16);
  }
  return out;
}

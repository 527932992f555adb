import { describe, expect, it } from 'vitest';
import { decodeInto, halfToFloat, toFloat32 } from './dtype.ts';
import { encode } from './testing/write-safetensors.ts';

const le16 = (words: number[]) => {
  const b = new Uint8Array(words.length * 2);
  words.forEach((w, i) => { b[2 * i] = w & 0xff; b[2 * i + 1] = w >> 8; });
  return b;
};

/** An independent binary16 decoder: assemble the value from its bits with a DataView float64. */
function referenceHalf(h: number): number {
  const sign = h >> 15, exp = (h >> 10) & 31, frac = h & 1023;
  if (exp === 31) return frac ? NaN : sign ? -Infinity : Infinity;
  const dv = new DataView(new ArrayBuffer(8));
  if (exp === 0) {
    // subnormal: frac * 2^-24, built as float64 bits exactly (frac < 2^10 fits the mantissa)
    if (frac === 0) return sign ? -0 : 0;
    const e = Math.floor(Math.log2(frac));
    const mant = BigInt(frac - 2 ** e) << BigInt(52 - e);
    dv.setBigUint64(0, (BigInt(sign) << 63n) | (BigInt(e - 24 + 1023) << 52n) | mant);
    return dv.getFloat64(0);
  }
  dv.setBigUint64(0, (BigInt(sign) << 63n) | (BigInt(exp - 15 + 1023) << 52n) | (BigInt(frac) << 42n));
  return dv.getFloat64(0);
}

describe('dtype conversion', () => {
  it('decodes every one of the 65536 F16 patterns exactly', () => {
    const all = Array.from({ length: 65536 }, (_, i) => i);
    const f = toFloat32(le16(all), 'F16');
    for (let h = 0; h < 65536; h++) {
      const want = referenceHalf(h);
      if (Number.isNaN(want)) { if (!Number.isNaN(f[h])) expect.fail(`0x${h.toString(16)} should be NaN`); }
      else if (!Object.is(f[h], want)) expect.fail(`0x${h.toString(16)}: got ${f[h]}, want ${want}`);
      if (!Object.is(halfToFloat(h), Number.isNaN(want) ? NaN : want)) expect.fail(`halfToFloat(0x${h.toString(16)})`);
    }
  });

  it('decodes F16 landmarks: subnormals, the largest finite, infinities, NaN, signed zero', () => {
    const f = toFloat32(le16([0x0001, 0x03ff, 0x0400, 0x3c00, 0xc000, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x8000]), 'F16');
    expect(Array.from(f.subarray(0, 8))).toEqual([2 ** -24, 1023 * 2 ** -24, 2 ** -14, 1, -2, 65504, Infinity, -Infinity]);
    expect(f[8]).toBeNaN();
    expect(Object.is(f[9], -0)).toBe(true);
  });

  it('decodes every BF16 pattern as the top half of a float32', () => {
    const all = Array.from({ length: 65536 }, (_, i) => i);
    const f = toFloat32(le16(all), 'BF16');
    const bits = new Uint32Array(f.buffer);
    for (let h = 0; h < 65536; h++) if (bits[h] !== h << 16 >>> 0) expect.fail(`0x${h.toString(16)}`);
    expect(Array.from(toFloat32(new Uint8Array([0x80, 0x3f, 0x20, 0xc1]), 'BF16'))).toEqual([1, -10]);
  });

  it('reads F32, F16 and BF16 at odd byte offsets (unaligned in the file or chunk)', () => {
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const values = [1.5, -3.25, 2 ** -10, 65280, -0]; // exact in all three
      const enc = encode(values, dtype);
      const raw = new Uint8Array(enc.length + 3);
      raw.set(enc, 1);
      const f = toFloat32(raw.subarray(1, 1 + enc.length), dtype);
      expect(Array.from(f)).toEqual(values);
      expect(Object.is(f[4], -0)).toBe(true);
    }
  });

  it('keeps F32 NaN payloads and infinities bit-exact', () => {
    const u = new Uint32Array([0x7fc00001, 0xffa00000, 0x7f800000, 0xff800000, 0x00000001]);
    const f = toFloat32(new Uint8Array(u.buffer), 'F32');
    expect(Array.from(new Uint32Array(f.buffer))).toEqual(Array.from(u));
  });

  it('decodes into part of an existing array, and refuses a partial value', () => {
    const out = new Float32Array(6).fill(7);
    decodeInto(encode([1, 2], 'F16'), 'F16', out, 3);
    expect(Array.from(out)).toEqual([7, 7, 7, 1, 2, 7]);
    decodeInto(encode([4, 5], 'BF16'), 'BF16', out, 0);
    decodeInto(encode([6], 'F32'), 'F32', out, 5);
    expect(Array.from(out)).toEqual([4, 5, 7, 1, 2, 6]);
    expect(() => decodeInto(new Uint8Array(3), 'F16', out)).toThrow(RangeError);
    expect(() => decodeInto(new Uint8Array(8), 'F32', out, 5)).toThrow(RangeError);
  });

  it('is fast enough for real checkpoints (a million F16 and BF16 values well under a second)', () => {
    const bytes = new Uint8Array(2 << 20);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    const t0 = performance.now();
    toFloat32(bytes, 'F16');
    toFloat32(bytes, 'BF16');
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

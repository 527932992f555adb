// Converting stored tensor bytes (little-endian) to Float32Array, exactly.
// Pure and browser-safe. Every F16 and BF16 value is exactly representable in float32, so the
// conversion loses nothing: normals, subnormals, signed zeros, infinities and NaN all survive.

export type DType = 'F32' | 'F16' | 'BF16';
export const DTYPE_BYTES: Record<DType, number> = { F32: 4, F16: 2, BF16: 2 };
export const DTYPES: readonly DType[] = ['F32', 'F16', 'BF16'];

/**
 * How an engine keeps the big matrices of a checkpoint whose bytes per dtype are `dtypeBytes`:
 * packed halves when every tensor is F16 (exact), else f32 (BF16 and F32 are not exact in halves).
 */
export function weightStorageFor(dtypeBytes: Readonly<Record<string, number>>): 'f16' | 'f32' {
  return Object.keys(dtypeBytes).every((t) => t === 'F16') ? 'f16' : 'f32';
}

export function isDType(s: unknown): s is DType {
  return s === 'F32' || s === 'F16' || s === 'BF16';
}

// The engine's typed arrays are little-endian on every platform a browser runs on; if this ever
// runs big-endian, fall back to DataView reads, which are explicit about byte order.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let f16Table: Float32Array | null = null;

/** Decode one IEEE 754 binary16 bit pattern. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;           // zero and subnormals
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);          // normals
}

/** All 65536 half-precision values, decoded once (256 KiB). */
export function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = halfToFloat(h);
  return (f16Table = t);
}

/** The 16-bit words of `bytes` as little-endian values: a view when aligned, else a copy. */
function words16(bytes: Uint8Array): Uint16Array {
  const n = bytes.length >> 1;
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  const copy = new Uint8Array(2 * n);
  copy.set(bytes.subarray(0, 2 * n));
  return new Uint16Array(copy.buffer);
}

/**
 * Decode `bytes` (any alignment) of `dtype` into `out` starting at `outOffset`.
 * `bytes.length` must be a multiple of the dtype size.
 */
export function decodeInto(bytes: Uint8Array, dtype: DType, out: Float32Array, outOffset = 0): void {
  const size = DTYPE_BYTES[dtype];
  if (bytes.length % size !== 0) throw new RangeError(`${bytes.length} bytes is not a whole number of ${dtype} values`);
  const n = bytes.length / size;
  if (outOffset + n > out.length) throw new RangeError(`${n} values do not fit at offset ${outOffset} of ${out.length}`);
  if (!LITTLE_ENDIAN) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (dtype === 'F32') for (let i = 0; i < n; i++) out[outOffset + i] = view.getFloat32(4 * i, true);
    else if (dtype === 'F16') for (let i = 0; i < n; i++) out[outOffset + i] = halfToFloat(view.getUint16(2 * i, true));
    else {
      const f = new Float32Array(1), u = new Uint32Array(f.buffer);
      for (let i = 0; i < n; i++) { u[0] = view.getUint16(2 * i, true) << 16; out[outOffset + i] = f[0]; }
    }
    return;
  }
  if (dtype === 'F32') {
    // Copy bytes rather than view them as floats: a tensor's offset in a file need not be
    // 4-byte aligned, and copying keeps NaN payloads bit-exact.
    new Uint8Array(out.buffer, out.byteOffset + 4 * outOffset, 4 * n).set(bytes);
    return;
  }
  const w = words16(bytes);
  if (dtype === 'F16') {
    const table = halfTable();
    for (let i = 0; i < n; i++) out[outOffset + i] = table[w[i]];
  } else {
    // bfloat16 is the top half of a float32: shift the bits into place.
    const bits = new Uint32Array(out.buffer, out.byteOffset + 4 * outOffset, n);
    for (let i = 0; i < n; i++) bits[i] = w[i] << 16;
  }
}

/** Decode `bytes` (any alignment) of the given dtype into a new Float32Array. */
export function toFloat32(bytes: Uint8Array, dtype: DType): Float32Array {
  const out = new Float32Array(bytes.length / DTYPE_BYTES[dtype]);
  decodeInto(bytes, dtype, out, 0);
  return out;
}

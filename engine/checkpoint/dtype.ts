// Converting stored tensor bytes (little-endian) to Float32Array, exactly.

export type DType = 'F32' | 'F16' | 'BF16';
export const DTYPE_BYTES: Record<DType, number> = { F32: 4, F16: 2, BF16: 2 };

export function isDType(s: string): s is DType {
  return s === 'F32' || s === 'F16' || s === 'BF16';
}

let f16Table: Float32Array | null = null;

/** All 65536 half-precision values, decoded once: exact for normals, subnormals, inf and NaN. */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return (f16Table = t);
}

/** Decode `bytes` (any alignment) of the given dtype into a new Float32Array. */
export function toFloat32(bytes: Uint8Array, dtype: DType): Float32Array {
  const n = bytes.length / DTYPE_BYTES[dtype];
  const out = new Float32Array(n);
  if (dtype === 'F32') {
    // Copy rather than view: a tensor's offset in the file need not be 4-byte aligned.
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F16') {
    const table = halfTable();
    for (let i = 0; i < n; i++) out[i] = table[view.getUint16(2 * i, true)];
  } else {
    // bfloat16 is the top half of a float32.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  }
  return out;
}

// Writing safetensors files in memory for tests: valid ones, and ones broken on purpose.
import type { DType } from '../dtype.ts';

export interface TensorIn { dtype: DType | string; shape: number[]; data: Uint8Array }

/** Encode float values in a dtype (round to nearest even for F16 and BF16). */
export function encode(values: ArrayLike<number>, dtype: DType): Uint8Array {
  const n = values.length;
  if (dtype === 'F32') return new Uint8Array(Float32Array.from(values).buffer);
  const out = new Uint8Array(2 * n);
  const view = new DataView(out.buffer);
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (let i = 0; i < n; i++) {
    f[0] = values[i];
    const bits = u[0];
    let h: number;
    if (dtype === 'BF16') h = (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
    else h = floatToHalf(values[i]);
    view.setUint16(2 * i, h & 0xffff, true);
  }
  return out;
}

function floatToHalf(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -24 / 2) return sign;
  if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
  let e = Math.floor(Math.log2(a));
  let m = Math.round((a / 2 ** e - 1) * 1024);
  if (m === 1024) { m = 0; e++; }
  return sign | ((e + 15) << 10) | m;
}

export interface SafetensorsOptions {
  /** Order of the tensors' bytes in the data section (header order follows it too). */
  order?: string[];
  /** Replace the JSON header text entirely (for headers that are broken on purpose). */
  headerOverride?: string;
  /** Replace the 8-byte header length field. */
  lengthOverride?: bigint;
  metadata?: Record<string, string>;
  /** Pad the header with spaces to a multiple of 8 bytes (the default, as the Python library does). */
  pad?: boolean;
  /** Filler bytes (0xee) placed before the named tensors: data the header does not describe. */
  gaps?: Record<string, number>;
  /** Filler bytes appended after the last tensor. */
  trailing?: number;
}

/** A safetensors file, valid unless the options break it. */
export function safetensorsBytes(tensors: Record<string, TensorIn>, opts: SafetensorsOptions = {}): Uint8Array {
  const names = opts.order ?? Object.keys(tensors);
  const header: Record<string, unknown> = {};
  if (opts.metadata) header.__metadata__ = opts.metadata;
  const at = new Map<string, number>();
  let offset = 0;
  for (const n of names) {
    const t = tensors[n];
    offset += opts.gaps?.[n] ?? 0;
    at.set(n, offset);
    header[n] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  offset += opts.trailing ?? 0;
  let json = opts.headerOverride ?? JSON.stringify(header);
  if (opts.pad ?? true) while (new TextEncoder().encode(json).length % 8) json += ' ';
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + offset).fill(0xee, 8 + h.length);
  new DataView(out.buffer).setBigUint64(0, opts.lengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  for (const n of names) out.set(tensors[n].data, 8 + h.length + at.get(n)!);
  return out;
}

/** A safetensors header alone (length field + JSON), followed by `dataBytes` zero bytes. */
export function headerOnly(header: unknown, dataBytes = 0): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
}

import { describe, expect, it } from 'vitest';
import { CheckpointError, type CheckpointErrorCode } from '../errors.ts';
import { parseSafetensorsHeader } from './safetensors-header.ts';
import { headerOnly, safetensorsBytes, encode } from './testing/write-safetensors.ts';

const FILE = 'model-00001-of-00002.safetensors';

function fails(bytes: Uint8Array, code: CheckpointErrorCode, tensor?: string, size: number | null = bytes.length): CheckpointError {
  let err: unknown;
  try { parseSafetensorsHeader(bytes, FILE, size ?? undefined); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(CheckpointError);
  const e = err as CheckpointError;
  expect(e.code, e.message).toBe(code);
  expect(e.file).toBe(FILE);
  expect(e.message.startsWith(FILE)).toBe(true);
  if (tensor) { expect(e.tensor).toBe(tensor); expect(e.message).toContain(tensor); }
  return e;
}

const f32 = (shape: number[], begin: number) => ({ dtype: 'F32', shape, data_offsets: [begin, begin + 4 * shape.reduce((a, b) => a * b, 1)] });

describe('safetensors header', () => {
  it('parses entries, metadata and absolute offsets', () => {
    const bytes = safetensorsBytes({
      a: { dtype: 'F32', shape: [2, 3], data: encode([1, 2, 3, 4, 5, 6], 'F32') },
      b: { dtype: 'BF16', shape: [3], data: encode([1, 2, 3], 'BF16') },
    }, { metadata: { format: 'pt' } });
    const h = parseSafetensorsHeader(bytes, FILE, bytes.length);
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.dataStart % 8).toBe(0);
    expect(h.tensors.get('a')).toEqual({ name: 'a', dtype: 'F32', shape: [2, 3], begin: h.dataStart, end: h.dataStart + 24 });
    expect(h.tensors.get('b')!.begin).toBe(h.dataStart + 24);
    expect(h.impliedSize).toBe(bytes.length);
    expect(h.unknownDtypes).toEqual([]);
  });

  it('accepts unknown dtypes and lists them (the loader decides whether they matter)', () => {
    const h = parseSafetensorsHeader(headerOnly({ inv_freq: { dtype: 'I64', shape: [4], data_offsets: [0, 32] }, w: f32([2], 32) }, 40), FILE);
    expect(h.unknownDtypes).toEqual(['inv_freq']);
    expect(h.tensors.get('inv_freq')!.dtype).toBe('I64');
  });

  it('accepts an empty header, empty tensors and trailing bytes', () => {
    expect(parseSafetensorsHeader(headerOnly({}), FILE).tensors.size).toBe(0);
    const b = headerOnly({ e: { dtype: 'F16', shape: [0, 4], data_offsets: [8, 8] }, w: f32([2], 0) }, 64);
    const h = parseSafetensorsHeader(b, FILE, b.length);
    expect(h.impliedSize).toBe(b.length - 64 + 8);
    expect(h.tensors.get('e')!.end - h.tensors.get('e')!.begin).toBe(0);
  });

  it('a file shorter than 8 bytes is truncated', () => {
    fails(new Uint8Array(0), 'truncated');
    fails(new Uint8Array(7), 'truncated');
  });

  it('a header length past the end of the file', () => {
    const b = headerOnly({ w: f32([2], 0) }, 8);
    new DataView(b.buffer).setBigUint64(0, BigInt(b.length - 7), true);
    const e = fails(b, 'header-too-large');
    expect(e.message).toContain(String(b.length - 7));
    // Size unknown: only an absurd length is refused up front.
    new DataView(b.buffer).setBigUint64(0, 1n << 62n, true);
    fails(b, 'header-too-large', undefined, null);
  });

  it('bytes that stop inside the header are truncated when the size is unknown', () => {
    const b = headerOnly({ w: f32([2], 0) }, 8);
    fails(b.subarray(0, 20), 'truncated', undefined, null);
  });

  it.each([
    ['not JSON', '{"w": {"dtype": "F32"'],
    ['not UTF-8', null],
    ['an array', '[1, 2]'],
    ['a string', '"hello"'],
    ['null', 'null'],
  ])('a header that is %s', (_, text) => {
    const b = headerOnly(text ?? '{"a":1}');
    if (text === null) b[10] = 0xff; // the key's first byte: not UTF-8
    fails(b, 'header-not-json');
  });

  it.each([
    ['no dtype', { shape: [2], data_offsets: [0, 8] }, /no "dtype"/],
    ['a numeric dtype', { dtype: 4, shape: [2], data_offsets: [0, 8] }, /"dtype" must be a string/],
    ['no shape', { dtype: 'F32', data_offsets: [0, 8] }, /no "shape"/],
    ['a negative dimension', { dtype: 'F32', shape: [-2], data_offsets: [0, 8] }, /non-negative integers/],
    ['a fractional dimension', { dtype: 'F32', shape: [1.5], data_offsets: [0, 8] }, /non-negative integers/],
    ['no data_offsets', { dtype: 'F32', shape: [2] }, /no "data_offsets"/],
    ['three offsets', { dtype: 'F32', shape: [2], data_offsets: [0, 4, 8] }, /\[begin, end\]/],
    ['string offsets', { dtype: 'F32', shape: [2], data_offsets: ['0', '8'] }, /\[begin, end\]/],
    ['an entry that is a number', 5, /must be an object/],
  ])('a header entry with %s', (_, entry, message) => {
    const e = fails(headerOnly({ 'model.norm.weight': entry }, 8), 'bad-header', 'model.norm.weight');
    expect(e.message).toMatch(message);
  });

  it('__metadata__ must be an object', () => {
    fails(headerOnly({ __metadata__: 'pt', w: f32([2], 0) }, 8), 'bad-header', '__metadata__');
  });

  it('offsets that end before they begin, or hold the wrong number of bytes, or run past the file', () => {
    fails(headerOnly({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, 8), 'offsets-out-of-range', 'w');
    const e = fails(headerOnly({ w: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 8] } }, 8), 'offsets-out-of-range', 'w');
    expect(e.message).toMatch(/8 bytes but F16 shape \[2,3\] needs 12/);
    // A gap before the last tensor: not a cut-short file but a header pointing nowhere.
    fails(headerOnly({ a: f32([2], 0), far: f32([2], 4000) }, 8), 'offsets-out-of-range', 'far');
  });

  it('a file cut short of tensors that tile the data section is truncated, naming the tensor cut', () => {
    const b = headerOnly({ a: f32([2], 0), b: f32([4], 8), c: f32([2], 24) }, 32);
    fails(b.subarray(0, b.length - 20), 'truncated', 'b');
  });

  it('overlapping tensors, including a long one that spans several', () => {
    fails(headerOnly({ a: f32([8], 0), b: f32([8], 16) }, 64), 'offsets-overlap', 'b');
    const e = fails(headerOnly({ long: f32([16], 0), empty: { dtype: 'F32', shape: [0], data_offsets: [8, 8] }, late: f32([2], 40) }, 64), 'offsets-overlap', 'late');
    expect(e.message).toContain('"long"');
  });
});

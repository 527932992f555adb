import { describe, expect, it } from 'vitest';
import { CheckpointError, type CheckpointErrorCode } from '../errors.ts';
import { HeaderParser, parseHeader, parseSafetensorsHeader } from './safetensors-header.ts';
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

describe('a header is read as it arrives, with bounded work', () => {
  const tensors = { a: f32([2, 3], 0), 'b.weight': { dtype: 'BF16', shape: [3], data_offsets: [24, 30] }, __metadata__: { format: 'pt' } };

  it.each([1, 2, 7, 64])('gives the same header through %i-byte pieces as whole', (piece) => {
    const bytes = headerOnly(tensors, 32);
    const n = bytes.length - 8 - 32;
    const whole = parseSafetensorsHeader(bytes, FILE, bytes.length);
    const parser = new HeaderParser(FILE, n, { fileSize: bytes.length });
    for (let at = 8; at < 8 + n; at += piece) parser.push(bytes.slice(at, Math.min(8 + n, at + piece)));
    const h = parser.end();
    expect([...h.tensors.values()]).toEqual([...whole.tensors.values()]);
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.count).toBe(2);
  });

  it('keeps only the tensors asked for; the others are counted, listed and still checked', () => {
    const bytes = headerOnly({ keep: f32([2], 0), skip: f32([2], 8), bad: f32([2], 4) }, 24);
    const e = fails(bytes, 'offsets-overlap');
    expect(e.message).toMatch(/overlap/);
    const ok = headerOnly({ keep: f32([2], 0), skip: f32([2], 8), odd: { dtype: 'I64', shape: [1], data_offsets: [16, 24] } }, 24);
    const h = parseHeader(ok.subarray(8, ok.length - 24), FILE, ok.length, (name) => name === 'keep');
    expect([...h.tensors.keys()]).toEqual(['keep']);
    expect(h.count).toBe(3);
    expect(h.others).toEqual([{ name: 'skip', dtype: 'F32', shape: [2] }, { name: 'odd', dtype: 'I64', shape: [1] }]);
    expect(h.unknownDtypes).toEqual(['odd']);
    expect(h.tensorAt(h.dataStart + 9)).toBe('skip');
  });

  it.each([
    ['a string of 10 MB', `{"__metadata__":{"format":"${'x'.repeat(1e7)}"}}`, /header has a string longer than 65536 bytes at byte 65563$/, '__metadata__'],
    ['a name of 1 MB', `{"${'n'.repeat(1e6)}":{}}`, /header has a key longer than 65536 bytes at byte 65538$/, undefined],
    ['5 million levels of nesting', `{"a":${'['.repeat(5e6)}`, /header has an entry that nests deeper than 3 levels at byte 8$/, 'a'],
    ['an entry of 2 MB', `{"w":{"dtype":"F32","shape":[${'1,'.repeat(1e6)}1]}}`, /header has an entry that spans more than 1048576 bytes/, 'w'],
  ])('%s is refused as soon as it is over its limit, in a short message', (_, header, message, tensor) => {
    const t0 = performance.now();
    const e = fails(headerOnly(header), 'over-limit', tensor);
    expect(e.message).toMatch(message);
    expect(e.message.length).toBeLessThan(200);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('more entries than a header may list is over the limit', () => {
    const parts = ['{'];
    for (let i = 0; i <= 262_144; i++) parts.push(`${i ? ',' : ''}"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
    parts.push('}');
    const e = fails(headerOnly(parts.join('')), 'over-limit', 't262144');
    expect(e.message).toMatch(/header lists more than 262144 tensors/);
  });

  it('values it quotes are excerpts: a 100 kB dtype, a shape of 50 000 dimensions', () => {
    const long = fails(headerOnly({ w: { dtype: 7, shape: [2], data_offsets: [0, 8] }, __metadata__: 'x'.repeat(60_000) }, 8), 'bad-header');
    expect(long.message.length).toBeLessThan(250);
    const dtype = headerOnly({ w: { dtype: 'Q'.repeat(60_000), shape: [2], data_offsets: [0, 8] }, v: { dtype: 'F32', shape: new Array(20_000).fill(1), data_offsets: [0, 8] } }, 8);
    const e = fails(dtype, 'offsets-out-of-range', 'v');
    expect(e.message).toMatch(/F32 shape \[1,1,1.*\.\.\. needs 4$/);
    expect(e.message.length).toBeLessThan(250);
  });

  it('a tensor listed twice is refused (JSON.parse would keep the last silently)', () => {
    const e = fails(headerOnly('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), 'bad-header', 'w');
    expect(e.message).toMatch(/listed twice/);
  });

  it.each([
    ['a trailing comma', '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},}'],
    ['bytes after the object', '{} x'],
    ['a key without a value', '{"w"}'],
    ['an empty header', '   '],
    ['a bad escape', '{"w\\q":{}}'],
  ])('%s is not JSON', (_, header) => {
    fails(headerOnly(header, 8), 'header-not-json');
  });
});

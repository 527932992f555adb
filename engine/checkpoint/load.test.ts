import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from './load.ts';
import { CheckpointError, type CheckpointErrorCode } from '../errors.ts';
import { memorySource } from './testing/memory-source.ts';
import { safetensorsBytes, encode } from './testing/write-safetensors.ts';
import { tinyTensors, TINY_CONFIG, valueOf } from './testing/tiny-checkpoint.ts';
import { toFloat32 } from './dtype.ts';

const config = JSON.stringify(TINY_CONFIG);
const good = () => safetensorsBytes(tinyTensors());

async function failure(files: Record<string, Uint8Array | string>): Promise<CheckpointError> {
  const { source } = memorySource({ 'config.json': config, ...files }, 7);
  try { await loadCheckpoint(source); } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return e as CheckpointError;
  }
  throw new Error('expected the load to fail');
}

async function expectError(files: Record<string, Uint8Array | string>, code: CheckpointErrorCode, file: string, tensor?: string) {
  const e = await failure(files);
  expect(e.code, e.message).toBe(code);
  expect(e.file).toBe(file);
  expect(e.message).toContain(file);
  if (tensor) { expect(e.tensor).toBe(tensor); expect(e.message).toContain(tensor); }
  return e;
}

describe('loading a checkpoint', () => {
  it.each(['F32', 'F16', 'BF16'] as const)('reads %s tensors exactly, out of order, through 7-byte chunks', async (dtype) => {
    const tensors = tinyTensors(dtype);
    const order = Object.keys(tensors).reverse();
    const { source, stats } = memorySource({ 'config.json': config, 'model.safetensors': safetensorsBytes(tensors, { order, metadata: { format: 'pt' } }) }, 7);
    const ck = await loadCheckpoint(source);
    const q = ck.weights.layers[1].q_proj;
    expect(q.length).toBe(8 * 8);
    for (let i = 0; i < q.length; i++) expect(q[i]).toBe(valueOf('model.layers.1.self_attn.q_proj.weight', i));
    expect(ck.weights.layers[0].experts[1].w2[5]).toBe(valueOf('model.layers.0.block_sparse_moe.experts.1.w2.weight', 5));
    expect(Object.keys(ck.dtypeBytes)).toEqual([dtype]);
    expect(stats.streams.get('model.safetensors')).toBe(1);
  });

  it('reads every byte once, and reports monotonic progress up to the total', async () => {
    const file = good();
    const { source, stats } = memorySource({ 'config.json': config, 'model.safetensors': file }, 100);
    const seen: number[] = [];
    await loadCheckpoint(source, { onProgress: (p) => { expect(p.bytesTotal).toBe(file.length); seen.push(p.bytesDone); } });
    expect(stats.bytesStreamed).toBe(file.length);
    expect(seen.length).toBeGreaterThan(5);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
    expect(seen.at(-1)).toBe(file.length);
  });

  it('loads a sharded checkpoint through its index', async () => {
    const t = tinyTensors();
    const names = Object.keys(t);
    const a = Object.fromEntries(names.slice(0, 10).map((n) => [n, t[n]]));
    const b = Object.fromEntries(names.slice(10).map((n) => [n, t[n]]));
    const index = { metadata: {}, weight_map: Object.fromEntries(names.map((n, i) => [n, i < 10 ? 'a.safetensors' : 'b.safetensors'])) };
    const { source } = memorySource({ 'config.json': config, 'model.safetensors.index.json': JSON.stringify(index), 'a.safetensors': safetensorsBytes(a), 'b.safetensors': safetensorsBytes(b) });
    const ck = await loadCheckpoint(source);
    expect(ck.files).toEqual(['config.json', 'a.safetensors', 'b.safetensors']);
    expect(ck.weights.norm[3]).toBe(valueOf('model.norm.weight', 3));
  });

  it('honours head_dim from config.json', async () => {
    const cfg = { ...TINY_CONFIG, head_dim: 6 };
    const { source } = memorySource({ 'config.json': JSON.stringify(cfg), 'model.safetensors': safetensorsBytes(tinyTensors('F32', cfg)) });
    const ck = await loadCheckpoint(source);
    expect(ck.config.head_dim).toBe(6);
    expect(ck.weights.layers[0].q_proj.length).toBe(2 * 6 * 8);
  });

  it('ignores tensors the model does not use, and reads a tokenizer.json when present', async () => {
    const t = { ...tinyTensors(), 'model.layers.0.self_attn.rotary_emb.inv_freq': { dtype: 'I64', shape: [2], data: new Uint8Array(16) } };
    const { source } = memorySource({ 'config.json': config, 'model.safetensors': safetensorsBytes(t), 'tokenizer.json': '{"model":{}}' });
    const ck = await loadCheckpoint(source);
    expect(ck.tokenizerJson).toEqual({ model: {} });
  });

  it('stops when aborted', async () => {
    const { source } = memorySource({ 'config.json': config, 'model.safetensors': good() }, 16);
    const ac = new AbortController();
    await expect(loadCheckpoint(source, { signal: ac.signal, onProgress: () => ac.abort() })).rejects.toThrow(/abort/i);
  });
});

describe('bad input gets a typed error naming the file and tensor', () => {
  it('a stream that ends inside a tensor (size unknown beforehand, as from a server without Content-Length)', async () => {
    const t = tinyTensors();
    const order = Object.keys(t);
    const f = safetensorsBytes(t, { order });
    const { source } = memorySource({ 'config.json': config, 'model.safetensors': f.subarray(0, f.length - 100) }, 7, { hideSizes: true });
    const e = await loadCheckpoint(source).catch((x) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.code).toBe('truncated');
    expect(e.tensor).toBe(order.at(-1));
    expect(e.message).toMatch(/^model\.safetensors \[lm_head\.weight\]: file ends at byte/);
  });

  it('a file cut inside a needed tensor names that tensor', async () => {
    const t = tinyTensors();
    const order = Object.keys(t);
    const f = safetensorsBytes(t, { order });
    const last = order.at(-1)!;
    await expectError({ 'model.safetensors': f.subarray(0, f.length - 3) }, 'truncated', 'model.safetensors', last);
  });

  it('a file cut inside the header', async () => {
    await expectError({ 'model.safetensors': good().subarray(0, 20) }, 'header-too-large', 'model.safetensors');
    await expectError({ 'model.safetensors': good().subarray(0, 5) }, 'truncated', 'model.safetensors');
  });

  it('a header length larger than the file', async () => {
    await expectError({ 'model.safetensors': safetensorsBytes(tinyTensors(), { lengthOverride: 1n << 40n }) }, 'header-too-large', 'model.safetensors');
  });

  it('a header that is not JSON', async () => {
    await expectError({ 'model.safetensors': safetensorsBytes({}, { headerOverride: '{"oops": [1, 2' }) }, 'header-not-json', 'model.safetensors');
    await expectError({ 'model.safetensors': safetensorsBytes({}, { headerOverride: '[1,2,3]' }) }, 'header-not-json', 'model.safetensors');
  });

  it('a header entry without a dtype', async () => {
    await expectError({ 'model.safetensors': safetensorsBytes({}, { headerOverride: '{"model.norm.weight":{"shape":[8],"data_offsets":[0,32]}}' }) }, 'bad-header', 'model.safetensors', 'model.norm.weight');
  });

  it('offsets outside the data section', async () => {
    const header = JSON.stringify({ 'model.norm.weight': { dtype: 'F32', shape: [8], data_offsets: [0, 32] }, 'lm_head.weight': { dtype: 'F32', shape: [2], data_offsets: [4000, 4008] } });
    const f = safetensorsBytes({}, { headerOverride: header });
    const padded = new Uint8Array(f.length + 32); padded.set(f);
    await expectError({ 'model.safetensors': padded }, 'offsets-out-of-range', 'model.safetensors', 'lm_head.weight');
  });

  it('offsets whose length disagrees with dtype and shape', async () => {
    const header = JSON.stringify({ 'model.norm.weight': { dtype: 'F32', shape: [8], data_offsets: [0, 16] } });
    const f = safetensorsBytes({}, { headerOverride: header });
    const padded = new Uint8Array(f.length + 16); padded.set(f);
    await expectError({ 'model.safetensors': padded }, 'offsets-out-of-range', 'model.safetensors', 'model.norm.weight');
  });

  it('overlapping tensors', async () => {
    const header = JSON.stringify({ 'model.norm.weight': { dtype: 'F32', shape: [8], data_offsets: [0, 32] }, 'model.layers.0.input_layernorm.weight': { dtype: 'F32', shape: [8], data_offsets: [16, 48] } });
    const f = safetensorsBytes({}, { headerOverride: header });
    const padded = new Uint8Array(f.length + 48); padded.set(f);
    const e = await expectError({ 'model.safetensors': padded }, 'offsets-overlap', 'model.safetensors');
    expect(e.message).toMatch(/model\.norm\.weight|input_layernorm/);
  });

  it('an unknown dtype on a needed tensor', async () => {
    const t = tinyTensors();
    t['model.norm.weight'] = { dtype: 'F8_E4M3', shape: [8], data: new Uint8Array(8) };
    await expectError({ 'model.safetensors': safetensorsBytes(t) }, 'unknown-dtype', 'model.safetensors', 'model.norm.weight');
  });

  it('a shape that does not match config.json', async () => {
    const t = tinyTensors();
    t['model.layers.1.block_sparse_moe.gate.weight'] = { dtype: 'F32', shape: [3, 8], data: encode(new Array(24).fill(0), 'F32') };
    const e = await expectError({ 'model.safetensors': safetensorsBytes(t) }, 'shape-mismatch', 'model.safetensors', 'model.layers.1.block_sparse_moe.gate.weight');
    expect(e.message).toContain('[2,8]');
  });

  it('a missing tensor', async () => {
    const t = tinyTensors();
    delete t['model.layers.1.block_sparse_moe.experts.1.w3.weight'];
    await expectError({ 'model.safetensors': safetensorsBytes(t) }, 'missing-tensor', 'model.safetensors', 'model.layers.1.block_sparse_moe.experts.1.w3.weight');
  });

  it('a missing weights file, a bad index, a missing shard', async () => {
    await expectError({}, 'missing-file', 'model.safetensors');
    await expectError({ 'model.safetensors.index.json': '{not json' }, 'bad-index', 'model.safetensors.index.json');
    await expectError({ 'model.safetensors.index.json': '{"weight_map":{"model.norm.weight":"gone.safetensors"}}' }, 'bad-index', 'model.safetensors.index.json');
  });

  it('a tokenizer.json that is not JSON', async () => {
    await expectError({ 'model.safetensors': good(), 'tokenizer.json': '{' }, 'bad-tokenizer', 'tokenizer.json');
  });

  it.each([
    [{ num_key_value_heads: 3 }, /multiple of num_key_value_heads/],
    [{ num_experts_per_tok: 3 }, /cannot exceed num_local_experts/],
    [{ hidden_size: undefined }, /missing "hidden_size"/],
    [{ hidden_size: -8 }, /positive integer/],
    [{ model_type: 'llama' }, /expected "mixtral"/],
    [{ head_dim: 5 }, /must be even/],
  ])('a config with impossible values: %o', async (over, message) => {
    const { source } = memorySource({ 'config.json': JSON.stringify({ ...TINY_CONFIG, ...over }), 'model.safetensors': good() });
    const e = await loadCheckpoint(source).catch((x) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.code).toBe('bad-config');
    expect(e.message).toMatch(/^config\.json: /);
    expect(e.message).toMatch(message);
  });

  it('a config that is not JSON, or missing', async () => {
    const { source } = memorySource({ 'config.json': '{', 'model.safetensors': good() });
    await expect(loadCheckpoint(source)).rejects.toMatchObject({ code: 'bad-config' });
    const { source: none } = memorySource({ 'model.safetensors': good() });
    await expect(loadCheckpoint(none)).rejects.toMatchObject({ code: 'missing-file', file: 'config.json' });
  });
});

describe('dtype conversion', () => {
  it('decodes F16 subnormals, infinities and NaN exactly', () => {
    const bits = [0x0001, 0x03ff, 0x3c00, 0xc000, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x8000];
    const bytes = new Uint8Array(bits.length * 2);
    bits.forEach((b, i) => { bytes[2 * i] = b & 0xff; bytes[2 * i + 1] = b >> 8; });
    const f = toFloat32(bytes, 'F16');
    expect(Array.from(f.subarray(0, 7))).toEqual([2 ** -24, 1023 * 2 ** -24, 1, -2, 65504, Infinity, -Infinity]);
    expect(f[7]).toBeNaN();
    expect(Object.is(f[8], -0)).toBe(true);
  });

  it('decodes BF16 as the top half of a float32, and F32 at odd offsets', () => {
    expect(Array.from(toFloat32(new Uint8Array([0x80, 0x3f, 0x20, 0xc1]), 'BF16'))).toEqual([1, -10]);
    const raw = new Uint8Array(9); raw.set(new Uint8Array(Float32Array.from([1.5, -3.25]).buffer), 1);
    expect(Array.from(toFloat32(raw.subarray(1), 'F32'))).toEqual([1.5, -3.25]);
  });
});

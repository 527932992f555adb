// directorySource / loadModelDirectory (engine/node.ts) on a temporary directory, and on the
// golden fixtures when they are present.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { directorySource, loadModelDirectory } from '../node.ts';
import { mixtralTensorSpecs } from './tensor-specs.ts';
import { safetensorsBytes } from './testing/write-safetensors.ts';
import { tinyTensors, TINY_CONFIG, valueOf } from './testing/tiny-checkpoint.ts';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mixscope-ckpt-'));
  // Two shards, the second holding its tensors in reverse order, plus a tokenizer.
  const t = tinyTensors('F16');
  const names = Object.keys(t);
  const half = Math.floor(names.length / 2);
  const pick = (ns: string[]) => Object.fromEntries(ns.map((n) => [n, t[n]]));
  writeFileSync(path.join(dir, 'model-00001-of-00002.safetensors'), safetensorsBytes(pick(names.slice(0, half))));
  writeFileSync(path.join(dir, 'model-00002-of-00002.safetensors'), safetensorsBytes(pick(names.slice(half)), { order: names.slice(half).reverse() }));
  const weight_map = Object.fromEntries(names.map((n, i) => [n, i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors']));
  writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map }));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(TINY_CONFIG));
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ version: '1.0', model: { type: 'BPE', vocab: {} } }));
});

afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

describe('directorySource', () => {
  it('lists, sizes and streams the files of a directory', async () => {
    const src = directorySource(dir);
    expect(src.label).toBe(dir);
    expect(src.list!()).toEqual(readdirSync(dir).sort());
    expect(await src.has('config.json')).toBe(true);
    expect(await src.has('nope.json')).toBe(false);
    expect(await src.has('../etc/passwd')).toBe(false);
    expect(await src.size('nope.json')).toBeUndefined();
    await expect(src.text('nope.json')).rejects.toMatchObject({ code: 'missing-file', file: 'nope.json' });
    await expect(src.stream('nope.json')).rejects.toMatchObject({ code: 'missing-file', file: 'nope.json' });
  });

  it('loadModelDirectory loads a sharded checkpoint with its tokenizer', async () => {
    const seen: number[] = [];
    const ck = await loadModelDirectory(dir, { onProgress: (p) => seen.push(p.bytesDone) });
    expect(ck.files).toEqual(['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'tokenizer.json']);
    expect(ck.tokenizerJson).toMatchObject({ model: { type: 'BPE' } });
    expect(ck.weights.lm_head[9]).toBe(valueOf('lm_head.weight', 9));
    expect(ck.weights.layers[1].experts[0].w1[11]).toBe(valueOf('model.layers.1.block_sparse_moe.experts.0.w1.weight', 11));
    expect(Object.keys(ck.dtypeBytes)).toEqual(['F16']);
    expect(ck.dtypeBytes.F16).toBe(mixtralTensorSpecs(ck.config).reduce((a, s) => a + 2 * s.shape.reduce((x, y) => x * y, 1), 0));
    expect(seen.at(-1)).toBeGreaterThan(0);
  });

  it('a path that is not a directory is missing-file', async () => {
    expect(() => directorySource(path.join(dir, 'config.json'))).toThrow(/is not a directory/);
    await expect(loadModelDirectory(path.join(dir, 'absent'))).rejects.toMatchObject({ code: 'missing-file' });
  });
});

// The golden fixtures come from tests/reference/make_fixtures.py; check each loads cleanly.
const GOLDEN = fileURLToPath(new URL('../../tests/fixtures/golden/', import.meta.url));
const goldens = existsSync(GOLDEN) ? readdirSync(GOLDEN).filter((d) => existsSync(path.join(GOLDEN, d, 'config.json'))) : [];

describe('golden fixtures load through loadModelDirectory', () => {
  it.each(goldens)('%s', async (name) => {
    let last = { bytesDone: -1, bytesTotal: 0 };
    const ck = await loadModelDirectory(path.join(GOLDEN, name), { onProgress: (p) => { last = p; } });
    expect(last.bytesDone).toBe(last.bytesTotal);
    expect(ck.weights.layers).toHaveLength(ck.config.num_hidden_layers);
    for (const l of ck.weights.layers) {
      expect(l.experts).toHaveLength(ck.config.num_local_experts);
      expect(l.q_proj.length).toBe(ck.config.num_attention_heads * ck.config.head_dim * ck.config.hidden_size);
    }
    for (const a of [ck.weights.embed_tokens, ck.weights.norm, ck.weights.lm_head]) expect(a.every(Number.isFinite)).toBe(true);
  });
});

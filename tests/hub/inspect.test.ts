// Know before you download: inspectCheckpoint reads config.json, the index and the sizes the Hub
// states (HEAD answers, X-Linked-Size on LFS redirects), never the weights.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { hubSource } from '../../engine/hub/source.ts';
import { inspectCheckpoint } from '../../engine/footprint/inspect.ts';
import { directorySource } from '../../engine/node.ts';
import { startFakeHub, type FakeHub } from './fake-hub.ts';
import { ROOT, TINY_DIR, projectRepos } from './hub-helpers.ts';

const size = (dir: string, f: string) => statSync(path.join(dir, f)).size;

describe('inspecting a checkpoint before downloading it', () => {
  let hub: FakeHub;
  beforeAll(async () => { hub = await startFakeHub({ repos: projectRepos() }); });
  afterAll(async () => { await hub?.close(); });

  it('a sharded model on the Hub: every shard and its size from the index and HEAD, no weight fetched', async () => {
    const dir = path.join(ROOT, 'tests/fixtures/golden/f32-sharded');
    const mark = hub.requests.length;
    const ins = await inspectCheckpoint(hubSource('golden/f32-sharded', { endpoint: hub.url }));
    const shards = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
    expect(ins.files.map((f) => f.name)).toEqual(['config.json', 'model.safetensors.index.json', ...shards, ...(readdirSync(dir).includes('tokenizer.json') ? ['tokenizer.json'] : [])]);
    for (const f of ins.files) expect(f.bytes, f.name).toBe(size(dir, f.name));
    expect(ins.complete).toBe(true);
    expect(ins.downloadBytes).toBe(ins.files.reduce((a, f) => a + f.bytes!, 0));
    expect(ins.storedDtype).toBe('F32');
    // Node's fetch follows the LFS redirect for HEAD too (a HEAD on the CDN); no byte of weights is fetched.
    expect(hub.requests.slice(mark).filter((q) => q.server === 'cdn' && q.method === 'GET')).toEqual([]);
  });

  it('the default model from its folder: F16 weights, its parameter counts, bytes per format', async () => {
    const ins = await inspectCheckpoint(directorySource(TINY_DIR));
    expect(ins.modelType).toBe('mixtral');
    expect(ins.parameters.total).toBeGreaterThan(11e6);
    expect(ins.files.find((f) => f.name === 'model.safetensors')!.bytes).toBe(size(TINY_DIR, 'model.safetensors'));
    expect(ins.formats.f32.bytes).toBeGreaterThan(ins.formats.f16.bytes);
    expect(ins.formats.f16.bytes).toBeGreaterThan(ins.formats.q8.bytes);
    expect(ins.formats.q8.bytes).toBeGreaterThan(ins.formats.q4.bytes);
  });

  it('a repository without weights is a missing-file error naming both layouts', async () => {
    await expect(inspectCheckpoint(hubSource('broken/no-weights', { endpoint: hub.url }))).rejects.toThrow(/no model\.safetensors or model\.safetensors\.index\.json/);
  });
});

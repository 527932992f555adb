// The browser-safe Hub source (engine/hub/source.ts): fetch only, redirects followed by fetch,
// no cache; here over Node's fetch against the fake Hub.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { loadCheckpoint } from '../../engine/checkpoint/index.ts';
import { HubError } from '../../engine/hub/errors.ts';
import { hubSource, type HubFileProgress } from '../../engine/hub/source.ts';
import { loadModelDirectory } from '../../engine/node.ts';
import { GOLDEN_DIR } from '../golden/fixtures.ts';
import { startFakeHub, type FakeHub } from './fake-hub.ts';
import { GATED_TOKEN, logitsOf, projectRepos } from './hub-helpers.ts';

let hub: FakeHub;
beforeAll(async () => { hub = await startFakeHub({ repos: projectRepos() }); });
afterAll(async () => { await hub?.close(); });

const rejection = async (p: Promise<unknown>) => p.then(() => { throw new Error('expected a rejection'); }, (e: unknown) => e as Error);

describe('hubSource', () => {
  it('loads a sharded model straight from the Hub, pinning the commit the first answer names', async () => {
    const mark = hub.requests.length;
    const events: HubFileProgress[] = [];
    const source = hubSource('golden/f32-sharded', { endpoint: hub.url, onFile: (p) => events.push(p) });
    const ckpt = await loadCheckpoint(source);
    const dir = path.join(GOLDEN_DIR, 'f32-sharded');
    expect(await logitsOf(ckpt)).toEqual(await logitsOf(await loadModelDirectory(dir)));
    const commit = hub.commitOf('golden/f32-sharded');
    expect(source.commit()).toBe(commit);
    const hubPaths = hub.requests.slice(mark).filter((r) => r.server === 'hub').map((r) => r.path);
    expect(hubPaths[0]).toBe('/golden/f32-sharded/resolve/main/config.json');
    expect(hubPaths.slice(1).every((p) => p.startsWith(`/golden/f32-sharded/resolve/${commit}/`))).toBe(true);
    const done = events.filter((e) => e.state === 'done');
    expect(done.map((e) => e.file)).toEqual(['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(done[2].bytesDone).toBe(hub.file('golden/f32-sharded', 'model-00001-of-00002.safetensors').bytes.length);
  });

  it('a gated model: a clear error without a token; with it, the token goes to the Hub and not to the CDN', async () => {
    const e = await rejection(loadCheckpoint(hubSource('gated/f32-mha', { endpoint: hub.url })));
    expect(e).toBeInstanceOf(HubError);
    expect((e as HubError).code).toBe('gated');
    const mark = hub.requests.length;
    const ckpt = await loadCheckpoint(hubSource('gated/f32-mha', { endpoint: hub.url, token: GATED_TOKEN }));
    expect(ckpt.config.num_local_experts).toBe(8);
    const requests = hub.requests.slice(mark);
    expect(requests.filter((r) => r.server === 'hub').every((r) => r.authorization === `Bearer ${GATED_TOKEN}`)).toBe(true);
    expect(requests.filter((r) => r.server === 'cdn').length).toBeGreaterThan(0);
    expect(requests.filter((r) => r.server === 'cdn').every((r) => r.authorization === undefined)).toBe(true);
  });

  it('a missing repository or revision is a HubError; a missing file is simply absent', async () => {
    expect(((await rejection(loadCheckpoint(hubSource('nobody/nothing', { endpoint: hub.url })))) as HubError).code).toBe('repo-not-found');
    expect(((await rejection(loadCheckpoint(hubSource('mixscope/tiny@nope', { endpoint: hub.url })))) as HubError).code).toBe('revision-not-found');
    const source = hubSource('golden/f32-mha-e8-k1', { endpoint: hub.url });
    expect(await source.has('tokenizer.json')).toBe(false);
    await expect(source.text('tokenizer.json')).rejects.toThrow(/tokenizer.json: not in golden\/f32-mha-e8-k1/);
  });
});

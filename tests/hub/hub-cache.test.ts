// Models from the Hugging Face Hub through the cache on disk (engine/hub/node-source.ts), against a
// local server that answers like the Hub (./fake-hub.ts). Never the network.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { loadCheckpoint } from '../../engine/checkpoint/index.ts';
import { CheckpointError } from '../../engine/errors.ts';
import { HubError } from '../../engine/hub/errors.ts';
import { hubCacheSource } from '../../engine/hub/node-source.ts';
import type { HubFileProgress } from '../../engine/hub/source.ts';
import { loadModelDirectory } from '../../engine/node.ts';
import { GOLDEN_DIR } from '../golden/fixtures.ts';
import { startFakeHub, type FakeHub } from './fake-hub.ts';
import { freshEnv, GATED_TOKEN, logitsOf, projectRepos, TINY_DIR, writePythonCache } from './hub-helpers.ts';

let hub: FakeHub;
beforeAll(async () => { hub = await startFakeHub({ repos: projectRepos(), renamed: { 'old-name/f32-mha': 'golden/f32-mha-e8-k1' } }); });
afterAll(async () => { await hub?.close(); });

/** The requests made while `f` runs. */
async function counting<T>(f: () => Promise<T>): Promise<{ value: T; requests: FakeHub['requests'] }> {
  const mark = hub.requests.length;
  const value = await f();
  return { value, requests: hub.requests.slice(mark) };
}

const rejection = async (p: Promise<unknown>) => p.then(() => { throw new Error('expected a rejection'); }, (e: unknown) => e as Error);

describe('downloading into the cache', () => {
  it('loads mixscope-tiny: the same weights and the same forward as from its folder on disk', async () => {
    const { env, cacheDir } = freshEnv(hub.url);
    const events: HubFileProgress[] = [];
    const source = hubCacheSource('mixscope/tiny', { env, onFile: (p) => events.push(p) });
    const ckpt = await loadCheckpoint(source);
    const disk = await loadModelDirectory(TINY_DIR);
    expect(ckpt.files).toEqual(disk.files);
    expect(ckpt.dtypeBytes).toEqual(disk.dtypeBytes);
    expect(await logitsOf(ckpt)).toEqual(await logitsOf(disk));
    expect(source.commit()).toBe(hub.commitOf('mixscope/tiny'));
    expect(source.snapshotDir()).toBe(path.join(cacheDir, 'models--mixscope--tiny', 'snapshots', hub.commitOf('mixscope/tiny')));

    // Progress per file, ending with each file's whole size.
    const size = statSync(path.join(TINY_DIR, 'model.safetensors')).size;
    const model = events.filter((e) => e.file === 'model.safetensors');
    expect(model[0]).toMatchObject({ state: 'downloading', bytesDone: 0, bytesTotal: size });
    expect(model.at(-1)).toEqual({ file: 'model.safetensors', state: 'done', bytesDone: size, bytesTotal: size, resumedFrom: 0 });
    expect(new Set(events.filter((e) => e.state === 'done').map((e) => e.file))).toEqual(new Set(['config.json', 'tokenizer.json', 'model.safetensors']));
  });

  it('writes the layout huggingface_hub reads: refs/main, relative symlinks into blobs named by hash, CACHEDIR.TAG', async () => {
    const { env, cacheDir } = freshEnv(hub.url);
    await loadCheckpoint(hubCacheSource('mixscope/tiny', { env }));
    const repoDir = path.join(cacheDir, 'models--mixscope--tiny');
    const commit = hub.commitOf('mixscope/tiny');
    expect(readdirSync(path.join(repoDir, 'refs'))).toEqual(['main']);
    expect(readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8')).toBe(commit); // no newline
    expect(readdirSync(path.join(repoDir, 'snapshots'))).toEqual([commit]);
    const snapshot = path.join(repoDir, 'snapshots', commit);
    expect(readdirSync(snapshot).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);
    for (const f of readdirSync(snapshot)) {
      const p = path.join(snapshot, f);
      expect(lstatSync(p).isSymbolicLink()).toBe(true);
      expect(readlinkSync(p)).toBe(`../../blobs/${hub.file('mixscope/tiny', f).etag}`);
      expect(readFileSync(p).equals(readFileSync(path.join(TINY_DIR, f))), f).toBe(true);
    }
    // LFS files are named by sha256, git files by their git blob sha1 (`git hash-object`).
    expect(hub.file('mixscope/tiny', 'model.safetensors').etag).toMatch(/^[0-9a-f]{64}$/);
    expect(hub.file('mixscope/tiny', 'config.json').etag).toMatch(/^[0-9a-f]{40}$/);
    expect(readdirSync(path.join(repoDir, 'blobs')).filter((f) => f.endsWith('.incomplete'))).toEqual([]);
    expect(readFileSync(path.join(cacheDir, 'CACHEDIR.TAG'), 'utf8')).toMatch(/^Signature: 8a477f597d28d172789f06886806bc55\n/);
  });

  it('asks with HEAD without following the redirect, then GETs the CDN copy without the token; later files at the pinned commit', async () => {
    const { env } = freshEnv(hub.url);
    const { requests } = await counting(() => loadCheckpoint(hubCacheSource('mixscope/tiny', { env, token: 'hf_any' })));
    const commit = hub.commitOf('mixscope/tiny');
    const hubRequests = requests.filter((r) => r.server === 'hub');
    const cdn = requests.filter((r) => r.server === 'cdn');
    expect(hubRequests.every((r) => r.authorization === 'Bearer hf_any')).toBe(true);
    expect(cdn).toHaveLength(1);
    expect(cdn[0]).toMatchObject({ method: 'GET', status: 200 });
    expect(cdn[0].authorization).toBeUndefined();
    // The first file is fetched where the HEAD was answered; every later one at the commit that answer named.
    expect(hubRequests.slice(0, 2)).toMatchObject([
      { method: 'HEAD', path: '/mixscope/tiny/resolve/main/config.json' },
      { method: 'GET', path: '/mixscope/tiny/resolve/main/config.json' },
    ]);
    expect(hubRequests.slice(2).every((r) => r.path.startsWith(`/mixscope/tiny/resolve/${commit}/`))).toBe(true);
    expect(hubRequests.find((r) => r.path.endsWith('model.safetensors'))).toMatchObject({ method: 'HEAD', status: 302 });
    expect(hubRequests.filter((r) => r.method === 'GET' && r.path.endsWith('model.safetensors'))).toEqual([]);
  });

  it('follows a sharded index: every shard downloaded, the model equal to its folder on disk', async () => {
    const { env, cacheDir } = freshEnv(hub.url);
    const { value: ckpt, requests } = await counting(() => loadCheckpoint(hubCacheSource('golden/f32-sharded', { env })));
    const disk = await loadModelDirectory(path.join(GOLDEN_DIR, 'f32-sharded'));
    expect(ckpt.files).toEqual(disk.files);
    expect(await logitsOf(ckpt)).toEqual(await logitsOf(disk));
    expect(requests.filter((r) => r.server === 'cdn').map((r) => r.path.slice(7, 71)).sort())
      .toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'].map((f) => hub.file('golden/f32-sharded', f).etag).sort());
    // What the Hub said is absent is remembered, as huggingface_hub does.
    const noExist = path.join(cacheDir, 'models--golden--f32-sharded', '.no_exist', hub.commitOf('golden/f32-sharded'));
    expect(readdirSync(noExist).sort()).toEqual(['model.safetensors', 'tokenizer.json']);
    expect(readFileSync(path.join(noExist, 'model.safetensors'), 'utf8')).toBe('');
  });

  it('follows a relative redirect (a renamed repository) on HEAD', async () => {
    const { env } = freshEnv(hub.url);
    const { value: ckpt, requests } = await counting(() => loadCheckpoint(hubCacheSource('old-name/f32-mha', { env })));
    expect(ckpt.config.num_local_experts).toBe(8);
    expect(requests[0]).toMatchObject({ path: '/old-name/f32-mha/resolve/main/config.json', status: 307 });
    expect(requests[1]).toMatchObject({ path: '/golden/f32-mha-e8-k1/resolve/main/config.json', status: 200 });
  });
});

describe('the cache answers without the Hub', () => {
  it('a second open makes no request at all: by branch, by commit, and offline', async () => {
    const { env } = freshEnv(hub.url);
    const first = await loadCheckpoint(hubCacheSource('golden/f32-sharded', { env }));
    const commit = hub.commitOf('golden/f32-sharded');
    for (const model of ['golden/f32-sharded', `golden/f32-sharded@${commit}`]) {
      const events: HubFileProgress[] = [];
      const { value, requests } = await counting(() => loadCheckpoint(hubCacheSource(model, { env, onFile: (p) => events.push(p) })));
      expect(requests).toEqual([]);
      expect(await logitsOf(value)).toEqual(await logitsOf(first));
      expect(events.every((e) => e.state === 'cached')).toBe(true);
    }
    const { requests } = await counting(() => loadCheckpoint(hubCacheSource('golden/f32-sharded', { env: { ...env, HF_HUB_OFFLINE: '1' } })));
    expect(requests).toEqual([]);
  });

  it('offline with nothing cached: says so, and how to go online', async () => {
    const { env } = freshEnv(hub.url, { HF_HUB_OFFLINE: '1' });
    const { value: e, requests } = await counting(() => rejection(loadCheckpoint(hubCacheSource('mixscope/tiny', { env }))));
    expect(requests).toEqual([]);
    expect(e).toBeInstanceOf(HubError);
    expect((e as HubError).code).toBe('offline');
    expect(e.message).toMatch(/HF_HUB_OFFLINE.*mixscope\/tiny is not in the cache/);
  });

  it('offline with part of a model cached: the loader names the missing file and says it looked in the cache only', async () => {
    const { env, cacheDir } = freshEnv(hub.url, { HF_HUB_OFFLINE: '1' });
    const dir = path.join(GOLDEN_DIR, 'f32-mha-e8-k1');
    writePythonCache(cacheDir, 'golden/f32-mha-e8-k1', hub.commitOf('golden/f32-mha-e8-k1'), dir, { files: ['config.json'], refs: ['main'] });
    const { value: e, requests } = await counting(() => rejection(loadCheckpoint(hubCacheSource('golden/f32-mha-e8-k1', { env }))));
    expect(requests).toEqual([]);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.message).toMatch(/no model.safetensors or model.safetensors.index.json in golden\/f32-mha-e8-k1 \(offline: the cache in .*models--golden--f32-mha-e8-k1\)/);
  });

  it('a new tag of a cached commit asks once (HEAD), links the cached files and downloads nothing', async () => {
    const { env } = freshEnv(hub.url);
    await loadCheckpoint(hubCacheSource('mixscope/tiny', { env }));
    const { requests } = await counting(() => loadCheckpoint(hubCacheSource('mixscope/tiny@v1', { env })));
    expect(requests.filter((r) => r.server === 'cdn' || r.method === 'GET')).toEqual([]);
    const again = await counting(() => loadCheckpoint(hubCacheSource('mixscope/tiny@v1', { env })));
    expect(again.requests).toEqual([]);
  });
});

describe('a cut connection', () => {
  const model = 'mixscope/tiny';
  const weights = 'model.safetensors';

  it('fails with what to do, keeps what arrived, and the next run asks only for the remaining bytes', async () => {
    const { env, cacheDir } = freshEnv(hub.url);
    const f = hub.file(model, weights);
    hub.cut(model, weights, 5_000_000);
    const { value: e } = await counting(() => rejection(loadCheckpoint(hubCacheSource(model, { env, retries: 0 }))));
    expect(e).toBeInstanceOf(HubError);
    expect((e as HubError).code).toBe('interrupted');
    expect(e.message).toMatch(new RegExp(`download of model.safetensors from ${hub.cdnUrl}/blobs/\\S+ stopped at byte \\d+ of ${f.bytes.length}`));
    expect(e.message).toMatch(/run the same command again to resume/);
    const partial = path.join(cacheDir, 'models--mixscope--tiny', 'blobs', `${f.etag}.incomplete`);
    const kept = statSync(partial).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(5_000_000);

    const events: HubFileProgress[] = [];
    const { value: ckpt, requests } = await counting(() => loadCheckpoint(hubCacheSource(model, { env, onFile: (p) => events.push(p) })));
    const cdn = requests.filter((r) => r.server === 'cdn');
    expect(cdn).toHaveLength(1);
    expect(cdn[0]).toMatchObject({ range: `bytes=${kept}-`, status: 206, bytes: f.bytes.length - kept });
    expect(events.find((p) => p.file === weights)).toMatchObject({ state: 'downloading', bytesDone: kept, resumedFrom: kept });
    expect(existsSync(partial)).toBe(false);
    expect(await logitsOf(ckpt)).toEqual(await logitsOf(await loadModelDirectory(TINY_DIR)));
  });

  it('within one run, resumes by itself after a cut that brought bytes', async () => {
    const { env } = freshEnv(hub.url);
    hub.cut(model, weights, 3_000_000);
    const { value: ckpt, requests } = await counting(() => loadCheckpoint(hubCacheSource(model, { env })));
    const cdn = requests.filter((r) => r.server === 'cdn');
    expect(cdn).toHaveLength(2);
    // The second request starts where the client's bytes ended. That can be short of what the server wrote before
    // the cut (bytes in flight when a socket is destroyed may never arrive), never past it, and never zero.
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(cdn[1].range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(cdn[0].bytes);
    expect(cdn[1]).toMatchObject({ status: 206, bytes: hub.file(model, weights).bytes.length - resumedAt });
    expect(ckpt.config.hidden_size).toBe(256);
  });

  it('a partial file that does not hash to the Hub ETag is thrown away with a clear error, and the next run starts over', async () => {
    const { env, cacheDir } = freshEnv(hub.url);
    const f = hub.file(model, weights);
    const blobs = path.join(cacheDir, 'models--mixscope--tiny', 'blobs');
    mkdirSync(blobs, { recursive: true });
    writeFileSync(path.join(blobs, `${f.etag}.incomplete`), new Uint8Array(1000)); // not the file's first 1000 bytes
    const e = await rejection(loadCheckpoint(hubCacheSource(model, { env })));
    expect((e as HubError).code).toBe('corrupt');
    expect(e.message).toMatch(/model.safetensors: the downloaded bytes hash to [0-9a-f]{64}, the Hub says/);
    expect(existsSync(path.join(blobs, `${f.etag}.incomplete`))).toBe(false);
    const { requests } = await counting(() => loadCheckpoint(hubCacheSource(model, { env })));
    expect(requests.filter((r) => r.server === 'cdn')[0].range).toBeUndefined();
  });
});

describe('errors that say what to do', () => {
  it('a gated model: refused without a token (saying how to give one), with a wrong one, then loads with the right one', async () => {
    const { env } = freshEnv(hub.url);
    const none = await rejection(loadCheckpoint(hubCacheSource('gated/f32-mha', { env })));
    expect(none).toBeInstanceOf(HubError);
    expect((none as HubError).code).toBe('gated');
    expect(none.message).toMatch(/gated\/f32-mha is a gated model \(.*401 GatedRepo\): accept its conditions at http:\/\/127\.0\.0\.1:\d+\/gated\/f32-mha, then set HF_TOKEN or pass --token T$/);
    const wrong = await rejection(loadCheckpoint(hubCacheSource('gated/f32-mha', { env, token: 'hf_wrong' })));
    expect((wrong as HubError).code).toBe('gated');
    expect(wrong.message).toMatch(/no access yet/);
    const ckpt = await loadCheckpoint(hubCacheSource('gated/f32-mha', { env: { ...env, HF_TOKEN: GATED_TOKEN } }));
    expect(await logitsOf(ckpt)).toEqual(await logitsOf(await loadModelDirectory(path.join(GOLDEN_DIR, 'f32-mha-e8-k1'))));
  });

  it('a missing repository, revision and file are told apart', async () => {
    const { env } = freshEnv(hub.url);
    const repo = await rejection(loadCheckpoint(hubCacheSource('nobody/nothing', { env })));
    expect((repo as HubError).code).toBe('repo-not-found');
    expect(repo.message).toMatch(/no model repository "nobody\/nothing" on http:\/\/127\.0\.0\.1:\d+ \(.*401 RepoNotFound\); if it is private, set HF_TOKEN or pass --token T$/);
    const rev = await rejection(loadCheckpoint(hubCacheSource('mixscope/tiny@no-such-branch', { env })));
    expect((rev as HubError).code).toBe('revision-not-found');
    expect(rev.message).toMatch(/mixscope\/tiny has no revision "no-such-branch"/);
    const weights = await rejection(loadCheckpoint(hubCacheSource('broken/no-weights', { env })));
    expect(weights).toBeInstanceOf(CheckpointError);
    expect(weights.message).toMatch(/no model.safetensors or model.safetensors.index.json in broken\/no-weights/);
    const shard = await rejection(loadCheckpoint(hubCacheSource('broken/missing-shard', { env })));
    expect((shard as CheckpointError).code).toBe('bad-index');
    expect(shard.message).toMatch(/names shard "model-00001-of-00001.safetensors", which is not in broken\/missing-shard/);
  });

  it('an unreachable Hub: names the URL, no stack, and mentions offline use', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const { env } = freshEnv(`http://127.0.0.1:${port}`);
    const e = await rejection(loadCheckpoint(hubCacheSource('mixscope/tiny', { env })));
    expect((e as HubError).code).toBe('network');
    expect(e.message).toMatch(new RegExp(`cannot reach http://127.0.0.1:${port}/mixscope/tiny/resolve/main/config.json: ECONNREFUSED`));
    expect(e.message).toMatch(/HF_HUB_OFFLINE=1/);
    expect(e.message).not.toMatch(/\n/);
  });

  it('a Hub that never answers: gives up after the metadata timeout', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const { env } = freshEnv(`http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, { HF_HUB_ETAG_TIMEOUT: '0.3' });
      const e = await rejection(loadCheckpoint(hubCacheSource('mixscope/tiny', { env })));
      expect((e as HubError).code).toBe('network');
      expect(e.message).toMatch(/no answer in time/);
    } finally {
      silent.close();
    }
  });
});

describe('the endpoint', () => {
  it('comes from HF_ENDPOINT: every request goes there', async () => {
    const other = await startFakeHub({ repos: [{ id: 'golden/f32-mha-e8-k1', dir: path.join(GOLDEN_DIR, 'f32-mha-e8-k1') }] });
    try {
      const { env } = freshEnv(other.url);
      const mark = hub.requests.length;
      const source = hubCacheSource('golden/f32-mha-e8-k1', { env });
      expect(source.label).toBe(`golden/f32-mha-e8-k1 (${other.url})`);
      await loadCheckpoint(source);
      expect(other.requests.length).toBeGreaterThan(0);
      expect(hub.requests.length).toBe(mark);
    } finally {
      await other.close();
    }
  });
});

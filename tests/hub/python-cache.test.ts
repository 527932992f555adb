// A cache written by huggingface_hub (built here file by file the way file_download.py and
// _snapshot_download.py write it) opens with no request to the Hub.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadCheckpoint } from '../../engine/checkpoint/index.ts';
import { hubCacheSource } from '../../engine/hub/node-source.ts';
import { loadModelDirectory } from '../../engine/node.ts';
import { GOLDEN_DIR } from '../golden/fixtures.ts';
import { startFakeHub, type FakeHub } from './fake-hub.ts';
import { freshEnv, logitsOf, projectRepos, TINY_DIR, writePythonCache } from './hub-helpers.ts';

let hub: FakeHub;
beforeAll(async () => { hub = await startFakeHub({ repos: projectRepos() }); });
afterAll(async () => { await hub?.close(); });

const SHARDED = path.join(GOLDEN_DIR, 'f32-sharded');
const SHARDS = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];

async function openCounting(model: string, env: Record<string, string>) {
  const mark = hub.requests.length;
  const ckpt = await loadCheckpoint(hubCacheSource(model, { env }));
  return { ckpt, requests: hub.requests.slice(mark) };
}

describe('a cache huggingface_hub wrote', () => {
  it('hf_hub_download of config, weights and tokenizer: opens by branch and by commit with no request, same forward as the folder', async () => {
    const { env, cacheDir } = freshEnv(hub.url);
    const commit = hub.commitOf('mixscope/tiny');
    writePythonCache(cacheDir, 'mixscope/tiny', commit, TINY_DIR, { files: ['config.json', 'model.safetensors', 'tokenizer.json'], refs: ['main'] });
    const disk = await logitsOf(await loadModelDirectory(TINY_DIR));
    for (const model of ['mixscope/tiny', `mixscope/tiny@${commit}`]) {
      const { ckpt, requests } = await openCounting(model, env);
      expect(requests).toEqual([]);
      expect(ckpt.tokenizerJson).not.toBeNull();
      expect(await logitsOf(ckpt)).toEqual(disk);
    }
  });

  it('snapshot_download with its tree listing: a sharded model opens with no request', async () => {
    const { env, cacheDir } = freshEnv(hub.url);
    const commit = hub.commitOf('golden/f32-sharded');
    writePythonCache(cacheDir, 'golden/f32-sharded', commit, SHARDED, {
      files: ['config.json', 'expected.json', 'model.safetensors.index.json', ...SHARDS], refs: ['main'], tree: true,
    });
    const { ckpt, requests } = await openCounting('golden/f32-sharded', env);
    expect(requests).toEqual([]);
    expect(await logitsOf(ckpt)).toEqual(await logitsOf(await loadModelDirectory(SHARDED)));
  });

  it('from_pretrained of a sharded model (the Hub said no model.safetensors, no tokenizer.json): no request', async () => {
    const { env, cacheDir } = freshEnv(hub.url);
    const commit = hub.commitOf('golden/f32-sharded');
    writePythonCache(cacheDir, 'golden/f32-sharded', commit, SHARDED, {
      files: ['config.json', 'model.safetensors.index.json', ...SHARDS], refs: ['main'], noExist: ['model.safetensors', 'tokenizer.json'],
    });
    const { requests } = await openCounting('golden/f32-sharded', env);
    expect(requests).toEqual([]);
  });

  it('an older snapshot (no tree listing): asks only whether a tokenizer exists, once, and remembers the answer', async () => {
    const { env, cacheDir } = freshEnv(hub.url);
    const commit = hub.commitOf('golden/f32-sharded');
    const repoDir = writePythonCache(cacheDir, 'golden/f32-sharded', commit, SHARDED, {
      files: ['config.json', 'expected.json', 'model.safetensors.index.json', ...SHARDS], refs: ['main'],
    });
    const first = await openCounting('golden/f32-sharded', env);
    // The shards are there, so model.safetensors is not asked for; tokenizer.json might exist.
    expect(first.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([`HEAD /golden/f32-sharded/resolve/${commit}/tokenizer.json 404`]);
    expect(existsSync(path.join(repoDir, '.no_exist', commit, 'tokenizer.json'))).toBe(true);
    expect((await openCounting('golden/f32-sharded', env)).requests).toEqual([]);
  });

  it('a snapshot missing a shard (a download cut short) fetches just that shard', async () => {
    const { env, cacheDir } = freshEnv(hub.url);
    const commit = hub.commitOf('golden/f32-sharded');
    writePythonCache(cacheDir, 'golden/f32-sharded', commit, SHARDED, {
      files: ['config.json', 'model.safetensors.index.json', SHARDS[0]], refs: ['main'], noExist: ['model.safetensors', 'tokenizer.json'],
    });
    const { requests } = await openCounting('golden/f32-sharded', env);
    expect(requests.map((r) => `${r.server} ${r.method} ${r.status}`)).toEqual(['hub HEAD 302', 'cdn GET 200']);
    expect(requests[0].path).toBe(`/golden/f32-sharded/resolve/${commit}/${SHARDS[1]}`);
  });
});

// What the Hub tests share: a fake Hub serving the project's checkpoints, a fresh cache per test,
// a forward to compare models by, and a cache written the way huggingface_hub writes it.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync, symlinkSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import type { LoadedCheckpoint } from '../../engine/checkpoint/index.ts';
import { goldenCases } from '../golden/fixtures.ts';
import type { FakeRepoSpec } from './fake-hub.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TINY_DIR = path.join(ROOT, 'models/mixscope-tiny');
export const GATED_TOKEN = 'hf_granted_token';

/** The project's checkpoints as Hub repositories: mixscope/tiny, golden/{case}, a gated copy, broken ones. */
export function projectRepos(): FakeRepoSpec[] {
  const golden = goldenCases().map((c) => ({ id: `golden/${c.name}`, dir: c.dir }));
  const mha = golden.find((g) => g.id === 'golden/f32-mha-e8-k1')!;
  const config = readFileSync(path.join(mha.dir, 'config.json'), 'utf8');
  return [
    { id: 'mixscope/tiny', dir: TINY_DIR, tags: ['v1'] },
    ...golden,
    { id: 'gated/f32-mha', dir: mha.dir, gatedToken: GATED_TOKEN },
    { id: 'broken/no-weights', files: { 'config.json': config } },
    { id: 'broken/missing-shard', files: {
      'config.json': config,
      'model.safetensors.index.json': JSON.stringify({ weight_map: { 'model.norm.weight': 'model-00001-of-00001.safetensors' } }),
    } },
  ];
}

/** A fresh HF_HOME and HF_HUB_CACHE for the running test (removed when it ends), and the environment that points at `endpoint`. */
export function freshEnv(endpoint: string, extra: Record<string, string> = {}) {
  const root = mkdtempSync(path.join(tmpdir(), 'mixscope-hub-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  const cacheDir = path.join(root, 'cache');
  const env = { HF_ENDPOINT: endpoint, HF_HUB_CACHE: cacheDir, HF_HOME: path.join(root, 'home'), ...extra };
  return { root, cacheDir, env };
}

/** Last-position logits of a short forward on the CPU engine. */
export async function logitsOf(ckpt: LoadedCheckpoint, ids = [1, 2, 3, 4, 5]): Promise<number[]> {
  const engine = new CpuEngine(ckpt.config, ckpt.weights);
  try {
    return Array.from((await engine.forward(ids.map((i) => i % ckpt.config.vocab_size))).logits);
  } finally {
    engine.dispose();
  }
}

const sha = (algo: 'sha1' | 'sha256', ...parts: (string | Uint8Array)[]) => {
  const h = createHash(algo);
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

export interface PythonCacheOptions {
  /** Files to put in the snapshot (the rest of the folder is left out, as a partial download would). */
  files: string[];
  /** Refs to write (branch or tag names) pointing at the commit. */
  refs?: string[];
  /** Write trees/{commit}.json listing every file of the folder (newer snapshot_download). */
  tree?: boolean;
  /** Files the Hub said are absent: empty .no_exist/{commit}/{file}. */
  noExist?: string[];
}

/**
 * Write `dir`'s files into `cacheDir` as huggingface_hub's hf_hub_download / snapshot_download
 * leave them (file_download.py): blobs named by sha256 (*.safetensors, LFS) or git blob sha1,
 * snapshot entries as relative symlinks, refs without a newline.
 */
export function writePythonCache(cacheDir: string, repo: string, commit: string, dir: string, o: PythonCacheOptions): string {
  const repoDir = path.join(cacheDir, `models--${repo.replace('/', '--')}`);
  const all = readdirSync(dir).filter((f) => statSync(path.join(dir, f)).isFile()).sort();
  const etagOf = (f: string) => {
    const bytes = readFileSync(path.join(dir, f));
    return f.endsWith('.safetensors') ? sha('sha256', bytes) : sha('sha1', `blob ${bytes.length}\0`, bytes);
  };
  for (const f of o.files) {
    const bytes = readFileSync(path.join(dir, f));
    const etag = etagOf(f);
    mkdirSync(path.join(repoDir, 'blobs'), { recursive: true });
    writeFileSync(path.join(repoDir, 'blobs', etag), bytes);
    mkdirSync(path.join(repoDir, 'snapshots', commit), { recursive: true });
    symlinkSync(`../../blobs/${etag}`, path.join(repoDir, 'snapshots', commit, f));
  }
  for (const r of o.refs ?? []) {
    mkdirSync(path.join(repoDir, 'refs'), { recursive: true });
    writeFileSync(path.join(repoDir, 'refs', r), commit);
  }
  for (const f of o.noExist ?? []) {
    mkdirSync(path.join(repoDir, '.no_exist', commit), { recursive: true });
    writeFileSync(path.join(repoDir, '.no_exist', commit, f), '');
  }
  if (o.tree) {
    const files = Object.fromEntries(all.map((f) => {
      const size = statSync(path.join(dir, f)).size;
      const lfs = f.endsWith('.safetensors');
      const entry = lfs ? { size, blob_id: sha('sha1', f), lfs_sha256: etagOf(f), lfs_size: size } : { size, blob_id: etagOf(f) };
      return [f, entry];
    }));
    mkdirSync(path.join(repoDir, 'trees'), { recursive: true });
    writeFileSync(path.join(repoDir, 'trees', `${commit}.json`), JSON.stringify({ format_version: 1, files }, null, 1));
  }
  return repoDir;
}

// Know before you download, in the CLI: `info` reports the footprint (file sizes, weight memory per
// format, whether WebGPU can hold them); `info --no-weights --model org/name` gets it from the
// Hub's answers without downloading the weights, and gives the same numbers as the folder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { startFakeHub, type FakeHub } from './fake-hub.ts';
import { freshEnv, projectRepos, ROOT } from './hub-helpers.ts';

let hub: FakeHub;
beforeAll(async () => { hub = await startFakeHub({ repos: projectRepos() }); });
afterAll(async () => { await hub?.close(); });

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(HF_|HUGGING|TRANSFORMERS_OFFLINE)/.test(k)));
  return new Promise((resolve) => {
    execFile('npm', ['run', '-s', 'cli', '--', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...base, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code as number) ?? 1 : 0, stdout, stderr });
    });
  });
}

describe('cli info: the footprint before a download', () => {
  it('--no-weights on a Hub model: the folder\'s footprint, with no weight downloaded', async () => {
    const { env } = freshEnv(hub.url);
    const disk = JSON.parse((await cli(['info', '--model', 'models/mixscope-tiny'])).stdout);
    const mark = hub.requests.length;
    const r = await cli(['info', '--no-weights', '--model', 'mixscope/tiny'], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.footprint).toEqual(disk.footprint);
    expect(out.parameters).toEqual(disk.parameters);
    expect(out.bytes_per_dtype).toEqual({});
    expect(hub.requests.slice(mark).filter((q) => q.server === 'cdn' && q.method === 'GET')).toEqual([]);
    const f = disk.footprint;
    expect(f.download_bytes).toBe(f.files.reduce((a: number, x: { bytes: number }) => a + x.bytes, 0));
    expect(f.stored_dtype).toBe('F16');
    expect(f.webgpu).toMatchObject({ format: 'f16', bytes: f.formats.f16.bytes, fits: true });
    // The CPU engine keeps a 16-bit checkpoint's matrices as stored (issue 17).
    expect(f.cpu).toEqual({ format: 'f16', bytes: f.formats.f16.bytes });
  });

  it('a sharded Hub model: every shard with its size from the Hub', async () => {
    const { env } = freshEnv(hub.url);
    const r = await cli(['info', '--no-weights', '--model', 'golden/f32-sharded'], env);
    expect(r.code, r.stderr).toBe(0);
    const names = JSON.parse(r.stdout).footprint.files.map((x: { name: string }) => x.name);
    expect(names).toEqual(['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  });
});

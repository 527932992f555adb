// The CLI with `--model org/name`: `npm run -s cli -- info --model mixscope/tiny` against the fake
// Hub, with HF_ENDPOINT and HF_HUB_CACHE pointing at it and at a temporary folder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { startFakeHub, type FakeHub } from './fake-hub.ts';
import { freshEnv, GATED_TOKEN, projectRepos, ROOT } from './hub-helpers.ts';

let hub: FakeHub;
beforeAll(async () => { hub = await startFakeHub({ repos: projectRepos() }); });
afterAll(async () => { await hub?.close(); });

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  // The caller's HF_* variables must not leak in (a real token, a real cache, offline mode).
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(HF_|HUGGING|TRANSFORMERS_OFFLINE)/.test(k)));
  return new Promise((resolve) => {
    execFile('npm', ['run', '-s', 'cli', '--', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...base, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code as number) ?? 1 : 0, stdout, stderr: stderr.split('\n').filter((l) => l && !l.startsWith('npm warn')).join('\n') });
    });
  });
}

describe('cli --model org/name', () => {
  it('downloads into HF_HUB_CACHE with progress per file on stderr, prints what the folder gives, and the second run asks nothing', async () => {
    const { env } = freshEnv(hub.url);
    const fromDisk = await cli(['info', '--model', 'models/mixscope-tiny'], env);
    const mark = hub.requests.length;
    const r = await cli(['info', '--model', 'mixscope/tiny'], env);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const { model, ...info } = JSON.parse(r.stdout);
    const { model: _dir, ...expected } = JSON.parse(fromDisk.stdout);
    expect(model).toBe('mixscope/tiny');
    expect(info).toEqual(expected);
    for (const f of ['config.json', 'tokenizer.json', 'model.safetensors']) {
      expect(r.stderr).toMatch(new RegExp(`^mixscope/tiny: ${f} \\([\\d.]+ (B|KiB|MiB)\\) downloaded$`, 'm'));
    }
    expect(r.stderr).toMatch(/^mixscope\/tiny: downloading model.safetensors \(21\.7 MiB\)$/m);
    expect(hub.requests.length).toBeGreaterThan(mark);

    const beforeAgain = hub.requests.length;
    const again = await cli(['info', '--model', 'mixscope/tiny'], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).parameters).toEqual(info.parameters);
    expect(again.stderr).toMatch(/^mixscope\/tiny: model.safetensors \(21\.7 MiB\) from the cache$/m);
    expect(hub.requests.length).toBe(beforeAgain);

    // A tag not seen before: one HEAD names its commit, which is cached; nothing is downloaded.
    const tagged = await cli(['info', '--model', 'mixscope/tiny@v1'], env);
    expect(tagged.code).toBe(0);
    expect(hub.requests.slice(beforeAgain).map((q) => `${q.method} ${q.path}`)).toEqual(['HEAD /mixscope/tiny/resolve/v1/config.json']);
  });

  it('a gated model: a one-line error saying how to pass a token, then --token or HF_TOKEN opens it', async () => {
    const { env } = freshEnv(hub.url);
    const refused = await cli(['info', '--model', 'gated/f32-mha'], env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/^mixscope info: HubError: gated\/f32-mha is a gated model \(.*\): accept its conditions at .*, then set HF_TOKEN or pass --token T$/);
    const withFlag = await cli(['info', '--model', 'gated/f32-mha', '--token', GATED_TOKEN], env);
    expect(withFlag.code).toBe(0);
    expect(JSON.parse(withFlag.stdout).config.num_local_experts).toBe(8);
    const withEnv = await cli(['info', '--model', 'gated/f32-mha'], { ...env, HF_TOKEN: GATED_TOKEN });
    expect(withEnv.code).toBe(0);
  });

  it('a name that is neither a folder nor a Hub model says both', async () => {
    const { env } = freshEnv(hub.url);
    const r = await cli(['info', '--model', 'models/no-such-model'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^mixscope info: HubError: "models\/no-such-model" is not a directory here, and no model repository "models\/no-such-model" on http:\/\/127\.0\.0\.1:\d+/);
    const path = await cli(['info', '--model', './no/such/dir'], env);
    expect(path.stderr).toMatch(/no\/such\/dir: is not a directory/);
  });
});

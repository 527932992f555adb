// The command line on a random checkpoint of each family, written with the exact Hub tensor names
// and config fields of its published checkpoint (tests/helpers/family-checkpoint.ts): info names
// the family and counts its parameters, forward / generate / analyze run, analyze's random
// baselines are for that E and K; forward --backend webgpu gives the CPU engine's logits and experts.
import { describe, expect, it, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parseConfig } from '../../engine/config.ts';
import { countParameters } from '../../engine/params.ts';
import { randomRepeatRates } from '../../engine/analysis/routing-stats.ts';
import { loadModelDirectory } from '../../engine/node.ts';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { tinyFamilyConfig, writeFamilyCheckpoint, type FamilyName } from '../helpers/family-checkpoint.ts';
import { requestNodeDevice } from '../gpu/node-webgpu.ts';
import { noAdapter } from '../gpu/ci-policy.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '-s', 'cli', '--', ...args], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code as number) ?? 1 : 0, stdout, stderr: stderr.split('\n').filter((l) => !l.startsWith('npm warn')).join('\n') });
    });
  });
}

const CASES: { name: string; family: FamilyName; over?: Record<string, unknown>; name_shown: string }[] = [
  { name: 'olmoe (E 64, K 8, no renormalisation)', family: 'olmoe', name_shown: 'OLMoE' },
  { name: 'qwen2_moe (E 60, K 4, shared expert, dense layer 0)', family: 'qwen2_moe', over: { num_hidden_layers: 3, mlp_only_layers: [0] }, name_shown: 'Qwen2-MoE' },
  { name: 'qwen3_moe (E 128, K 8, per-head q/k norms)', family: 'qwen3_moe', name_shown: 'Qwen3-MoE' },
  { name: 'granitemoe (E 32, K 8, fused experts, tied)', family: 'granitemoe', name_shown: 'Granite-MoE' },
];

describe.each(CASES)('cli on a random $name checkpoint', ({ family, over, name_shown }) => {
  const config = tinyFamilyConfig(family, over);
  const c = parseConfig(config);
  let dir: string;
  beforeAll(() => {
    dir = writeFamilyCheckpoint(mkdtempSync(path.join(tmpdir(), `mixscope-${family}-`)), config, family === 'granitemoe' ? 'BF16' : 'F32');
  });

  it('info names the family and counts total and active parameters', async () => {
    const r = await cli(['info', '--model', dir]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.family).toBe(name_shown);
    expect(out.model_type).toBe(family);
    const p = countParameters(c);
    expect(out.parameters.total).toBe(p.total);
    expect(out.parameters.active_per_token).toBe(p.activePerToken);
    // Every stored tensor is counted once: the total is the bytes on disk over the dtype's size.
    const bytes = Object.entries(out.bytes_per_dtype as Record<string, number>).reduce((a, [d, n]) => a + n / (d === 'F32' ? 4 : 2), 0);
    expect(bytes).toBe(p.total);
    // Active: all but E - K routed experts per sparse layer.
    expect(p.total - p.activePerToken).toBe(p.moeLayers * (c.num_local_experts - c.num_experts_per_tok) * p.expertEach);
  });

  it('forward gives the CPU engine\'s logits and routing (null for a dense layer)', async () => {
    const ids = [1, 20, 40, 60, 80];
    const r = await cli(['forward', '--model', dir, '--ids', ids.join(',')]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const ckpt = await loadModelDirectory(dir);
    const mine = await new CpuEngine(ckpt.config, ckpt.weights).forward(ids);
    expect(out.logits).toEqual(Array.from(mine.logits));
    expect(out.experts).toHaveLength(c.num_hidden_layers);
    out.experts.forEach((layer: number[][] | null, l: number) => {
      if (over?.mlp_only_layers && (over.mlp_only_layers as number[]).includes(l)) { expect(layer).toBeNull(); return; }
      expect(layer).toHaveLength(ids.length);
      for (const row of layer!) {
        expect(row).toHaveLength(c.num_experts_per_tok);
        expect(new Set(row).size).toBe(c.num_experts_per_tok);
      }
    });
  });

  it('forward --backend webgpu gives the CPU engine\'s logits within 1e-3 and its expert choices', { timeout: 300_000 }, async (ctx) => {
    const gpu = await requestNodeDevice();
    if ('reason' in gpu) return noAdapter('cli forward --backend webgpu', gpu.reason, (m) => ctx.skip(m));
    gpu.device.destroy();
    const ids = [1, 20, 40, 60, 80];
    const [g, cpu] = await Promise.all([cli(['forward', '--model', dir, '--ids', ids.join(','), '--backend', 'webgpu']), cli(['forward', '--model', dir, '--ids', ids.join(',')])]);
    expect(g.code, g.stderr).toBe(0);
    const a = JSON.parse(g.stdout), b = JSON.parse(cpu.stdout);
    expect(a.logits).toHaveLength(b.logits.length);
    expect(Math.max(...a.logits.map((v: number, i: number) => Math.abs(v - b.logits[i])))).toBeLessThanOrEqual(1e-3);
    expect(a.experts).toEqual(b.experts);
  });

  it('generate writes text, and with --json the expert choices of every step', async () => {
    const r = await cli(['generate', '--model', dir, '--prompt', 'hello world', '--max-tokens', '5', '--temperature', '0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.steps.length).toBeGreaterThan(0);
    expect(out.steps[0].experts).toHaveLength(c.num_hidden_layers);
    const sparse = out.steps[0].experts.filter((e: number[] | null) => e !== null);
    for (const e of sparse) expect(e).toHaveLength(c.num_experts_per_tok);
  });

  it('analyze gives shares over E experts and the random baselines of this E and K', async () => {
    const textFile = path.join(dir, 'text.txt');
    writeFileSync(textFile, 'hello world '.repeat(40)); // longer than the 64 positions the model reads
    const r = await cli(['analyze', '--model', dir, '--text-file', textFile]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect([out.experts, out.top_k]).toEqual([c.num_local_experts, c.num_experts_per_tok]);
    expect(out.windows).toBeGreaterThan(1);
    expect(out.random).toEqual(randomRepeatRates(c.num_local_experts, c.num_experts_per_tok));
    for (const layer of out.layers) {
      if (layer === null) continue;
      expect(layer.first_share).toHaveLength(c.num_local_experts);
      expect(layer.topk_share.reduce((a: number, b: number) => a + b)).toBeCloseTo(1, 9);
    }
    expect(out.layers.filter((l: unknown) => l === null)).toHaveLength(over?.mlp_only_layers ? 1 : 0);
  });
});

describe('analyze baselines for many experts', () => {
  it('OLMoE (E 64, K 8): 1/64 for the first choice and 1 - C(56,8)/C(64,8) for overlapping top-8 sets', () => {
    const r = randomRepeatRates(64, 8);
    expect(r.repeat_first).toBe(1 / 64);
    expect(r.repeat_topk).toBeCloseTo(0.679069, 6); // Python: 1 - math.comb(56, 8) / math.comb(64, 8)
  });
});

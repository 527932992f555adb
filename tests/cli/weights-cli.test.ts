// `--weights f32|f16|q8|q4`: every command that runs the model takes it. On the CPU engine the
// default keeps the checkpoint's stored width (bit for bit the float32 logits), and a format
// converts the matrices (quant/quantize-weights.ts) so the CLI computes what the library does on
// those weights; WebGPU gets the format as its `weights` option.
import { describe, expect, it, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { loadStoredCheckpoint } from '../../engine/checkpoint/load-stored.ts';
import { convertWeights } from '../../engine/quant/quantize-weights.ts';
import { directorySource, loadModelDirectory } from '../../engine/node.ts';
import { familyGoldenCases, goldenCases, maxAbsDiff } from '../golden/fixtures.ts';
import { TINY_DIR } from '../hub/hub-helpers.ts';
import type { WeightFormat } from '../../engine/footprint/formats.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '-s', 'cli', '--', ...args], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code as number) ?? 1 : 0, stdout, stderr: stderr.split('\n').filter((l) => !l.startsWith('npm warn')).join('\n') });
    });
  });
}

const IDS = [1, 415, 2936, 9, 77, 301];

describe('cli --weights on the CPU engine (the default model, F16)', () => {
  /** The last position's logits the library gives on the default model in each format (undefined: as stored). */
  const expected = new Map<WeightFormat | undefined, number[]>();
  beforeAll(async () => {
    const stored = await loadStoredCheckpoint(directorySource(TINY_DIR));
    const last = async (w: typeof stored.weights) => {
      const r = await new CpuEngine(stored.config, w).forward(IDS);
      return Array.from(r.logits.subarray(r.logits.length - stored.config.vocab_size));
    };
    const f32 = await loadModelDirectory(TINY_DIR);
    expected.set('f32', await last(f32.weights));
    expected.set(undefined, await last(stored.weights));
    for (const f of ['f16', 'q8', 'q4'] as const) expected.set(f, await last(convertWeights(stored.weights, stored.config, f)));
  }, 120_000);

  it('by default keeps the stored width: the float32 loader\'s logits bit for bit; f16 is the same, f32 too', async () => {
    expect(expected.get(undefined)).toEqual(expected.get('f32'));
    for (const flag of [[], ['--weights', 'f16'], ['--weights', 'f32']]) {
      const r = await cli(['forward', '--ids', IDS.join(','), ...flag]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).logits, flag.join(' ')).toEqual(expected.get('f32'));
    }
  }, 120_000);

  it.each(['q8', 'q4'] as const)('--weights %s: the library\'s logits on the converted weights, exactly, and close to f32', async (format) => {
    const r = await cli(['forward', '--ids', IDS.join(','), '--weights', format]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.logits).toEqual(expected.get(format));
    expect(out.logits).not.toEqual(expected.get('f32'));
    // The tolerances of tests/model/stored-width.test.ts: of the logits' range, q8 2%, q4 10%.
    const f32 = expected.get('f32')!;
    expect(maxAbsDiff(out.logits, f32) / (Math.max(...f32) - Math.min(...f32))).toBeLessThan(format === 'q8' ? 0.02 : 0.1);
    expect(out.router_logits.length).toBe(6);
  }, 120_000);

  it('generate, lens and analyze run on q8 and q4 weights', async () => {
    const gen = await cli(['generate', '--prompt', 'The cat', '--max-tokens', '6', '--weights', 'q8', '--json']);
    expect(gen.code, gen.stderr).toBe(0);
    expect(JSON.parse(gen.stdout).ids).toHaveLength(6);
    const lens = await cli(['lens', '--text', 'def f(x):', '--weights', 'q4']);
    expect(lens.code, lens.stderr).toBe(0);
    const layers = JSON.parse(lens.stdout).layers;
    expect(layers).toHaveLength(6);
    // The last layer's lens is the model's own output: the q4 lm_head, decoded once.
    expect(layers[5].resid[0][0].prob).toBeGreaterThan(0);
    const analyze = await cli(['analyze', '--text', 'int main(void) { return 0; }', '--weights', 'q4']);
    expect(analyze.code, analyze.stderr).toBe(0);
    expect(JSON.parse(analyze.stdout).layers).toHaveLength(6);
  }, 180_000);

  it('info --weights q4: the CPU engine\'s memory in q4; without it, the stored width', async () => {
    const [plain, q4] = [await cli(['info']), await cli(['info', '--weights', 'q4'])];
    expect(plain.code, plain.stderr).toBe(0);
    expect(q4.code, q4.stderr).toBe(0);
    const a = JSON.parse(plain.stdout).footprint, b = JSON.parse(q4.stdout).footprint;
    expect(a.cpu).toEqual({ format: 'f16', bytes: a.formats.f16.bytes });
    expect(b.cpu).toEqual({ format: 'q4', bytes: a.formats.q4.bytes });
    expect(b.webgpu).toMatchObject({ format: 'q4', bytes: a.formats.q4.bytes, fits: true });
  }, 120_000);

  it('a format that does not exist is a usage error, before any load', async () => {
    const r = await cli(['forward', '--ids', '1,2', '--weights', 'q3']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^mixscope forward: UsageError: --weights must be one of f32, f16, q8, q4, got "q3" \(npm run -s cli -- --help for usage\)$/m);
  }, 60_000);
});

describe('cli --weights on a BF16 family checkpoint', () => {
  it('the stored width by default (bit for bit float32), f16 close to it', async () => {
    const c = familyGoldenCases().find((x) => x.name === 'qwen2_moe/bf16-mha-e5-k2-sparse-step2');
    expect(c).toBeDefined();
    const args = ['forward', '--model', c!.dir, '--ids', c!.expected.ids.join(',')];
    const [plain, f32, f16] = [await cli(args), await cli([...args, '--weights', 'f32']), await cli([...args, '--weights', 'f16'])];
    for (const r of [plain, f32, f16]) expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(plain.stdout).logits).toEqual(JSON.parse(f32.stdout).logits);
    expect(maxAbsDiff(JSON.parse(f16.stdout).logits, c!.expected.logits.at(-1))).toBeLessThan(0.05);
    // A dense layer stays null in every format.
    expect(JSON.parse(f16.stdout).experts.map((x: unknown) => x === null)).toEqual(c!.expected.moe_layers.map((s) => !s));
  }, 120_000);
});

describe('cli --weights on WebGPU (Dawn)', () => {
  it('reaches the engine: f32 matches the CPU within 1e-4, f16 storage of an F32 checkpoint does not', async () => {
    const golden = goldenCases().find((c) => c.name === 'f32-gqa2-e4-k2-window')!;
    const args = ['forward', '--model', golden.dir, '--ids', golden.expected.ids.join(','), '--backend', 'webgpu'];
    const [f32, f16] = [await cli([...args, '--weights', 'f32']), await cli([...args, '--weights', 'f16'])];
    expect(f32.code, f32.stderr).toBe(0);
    expect(f16.code, f16.stderr).toBe(0);
    const ref = golden.expected.logits.at(-1)!;
    const e32 = maxAbsDiff(JSON.parse(f32.stdout).logits, ref), e16 = maxAbsDiff(JSON.parse(f16.stdout).logits, ref);
    expect(e32).toBeLessThanOrEqual(1e-4);
    expect(e16).toBeGreaterThan(1e-4);
    expect(e16).toBeLessThan(0.05);
  }, 180_000);

  it('--weights q8 and q4 run on the WebGPU engine, with the CPU engine\'s logits on the same quantized weights (default model)', async () => {
    const args = ['forward', '--ids', '1,517,2049,33,780'];
    for (const format of ['q8', 'q4']) {
      const [gpu, cpu] = [await cli([...args, '--backend', 'webgpu', '--weights', format]), await cli([...args, '--backend', 'cpu', '--weights', format])];
      expect(gpu.code, gpu.stderr).toBe(0);
      expect(cpu.code, cpu.stderr).toBe(0);
      expect(maxAbsDiff(JSON.parse(gpu.stdout).logits, JSON.parse(cpu.stdout).logits), format).toBeLessThanOrEqual(1e-3);
    }
  }, 300_000);
});

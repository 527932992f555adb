// The CLI against hostile checkpoints (hostile-checkpoints.ts) and misuse: each is answered with
// a one-line error under 300 characters, in under 5 s of CPU time (user + system, beyond the CLI's
// own start-up, measured here as `--help`; CPU time, so that other work on the machine does not
// count, while a process that spins is still caught and one that hangs meets the test's timeout), with the process's peak memory under 300 MB (GNU time's maximum resident
// set size of the whole process tree). Measurements go to test-results/hostile/cli.json.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOSTILE_CASES, buildHostile } from './hostile-checkpoints.ts';
import { safetensorsBytes } from '../../engine/checkpoint/testing/write-safetensors.ts';
import { tinyTensors, TINY_CONFIG } from '../../engine/checkpoint/testing/tiny-checkpoint.ts';
import { llamaStyleTokenizerJson } from '../helpers/llama-style-tokenizer.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const RESULTS = path.join(ROOT, 'test-results/hostile');
const LIMITS = { ms: 5000, line: 300, rssMB: 300 };

interface Run { code: number | null; stdout: string; stderr: string; ms: number; cpuMs: number; rssMB: number }

/** The CLI as `npm run -s cli` runs it (tsx on engine/cli/main.ts), under GNU time for its peak memory. */
function cli(args: string[], { closeAfterFirstByte = false } = {}): Promise<Run> {
  const timing = path.join(mkdtempSync(path.join(tmpdir(), 'mixscope-time-')), 'time');
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', timing, process.execPath, TSX, 'engine/cli/main.ts', ...args], { cwd: ROOT });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      // A reader that stops after one byte, as `| head -c 1` does.
      if (closeAfterFirstByte) child.stdout.destroy();
    });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      const [maxKB, user, system] = readFileSync(timing, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
      rmSync(path.dirname(timing), { recursive: true, force: true });
      resolve({ code, stdout, stderr, ms, cpuMs: (user + system) * 1000, rssMB: maxKB / 1024 });
    });
  });
}

const measured: Record<string, { code: number | null; ms: number; cpuMs: number; cpuOverStartupMs: number; rssMB: number; chars: number; line: string }> = {};
let startup = 0;
let startupCpu = 0;
let root: string;
let model: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'mixscope-hostile-'));
  // A tiny model with a tokenizer, for the misuse of good input.
  model = path.join(root, 'good');
  mkdirSync(model);
  const config = { ...TINY_CONFIG, vocab_size: 277, bos_token_id: 1, eos_token_id: 2 };
  writeFileSync(path.join(model, 'config.json'), JSON.stringify(config));
  writeFileSync(path.join(model, 'model.safetensors'), safetensorsBytes(tinyTensors('F32', config)));
  writeFileSync(path.join(model, 'tokenizer.json'), JSON.stringify(llamaStyleTokenizerJson()));
  // Start-up alone: what every run pays before it reads anything (the quicker of two).
  const [a, b] = [await cli(['--help']), await cli(['--help'])];
  startup = Math.min(a.ms, b.ms);
  startupCpu = Math.min(a.cpuMs, b.cpuMs);
}, 120_000);

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(path.join(RESULTS, 'cli.json'), JSON.stringify({ startupMs: Math.round(startup), startupCpuMs: Math.round(startupCpu), limits: LIMITS, cases: measured }, null, 2));
});

/** One line on stderr, short, within time and memory; recorded for the report. */
function expectOneLineError(name: string, r: Run, code: number, message: RegExp): void {
  const lines = r.stderr.trimEnd().split('\n');
  measured[name] = { code: r.code, ms: Math.round(r.ms), cpuMs: Math.round(r.cpuMs), cpuOverStartupMs: Math.round(r.cpuMs - startupCpu), rssMB: Math.round(r.rssMB), chars: lines[0].length, line: lines[0] };
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  expect(lines, r.stderr.slice(0, 2000)).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(lines[0].length).toBeLessThan(LIMITS.line);
  expect(r.rssMB).toBeLessThan(LIMITS.rssMB);
  expect(r.cpuMs - startupCpu, `${Math.round(r.cpuMs)} ms of CPU, start-up ${Math.round(startupCpu)} ms`).toBeLessThan(LIMITS.ms);
}

describe('hostile checkpoints through the CLI: one short line, in seconds, in bounded memory', () => {
  it.for(HOSTILE_CASES)('$name: $what', { timeout: 120_000 }, async (c) => {
    const dir = buildHostile(root, c);
    try {
      const r = await cli(['forward', '--model', dir, '--ids', '1,2']);
      expectOneLineError(c.name, r, 1, c.message);
      expect(r.stderr).toMatch(/^mixscope forward: CheckpointError: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('misuse of the CLI', () => {
  const usage = /\(npm run -s cli -- --help for usage\)$/;
  it.for([
    { name: 'unknown flag', args: () => ['generate', '--bogus'], code: 2, message: /^mixscope: unknown option "--bogus" / },
    { name: 'unknown command', args: () => ['frobnicate'], code: 2, message: /^mixscope: unknown command "frobnicate": info, tokenize, forward, generate, analyze, experts, lens, patch / },
    { name: 'no command', args: () => [], code: 2, message: /^mixscope: no command given/ },
    { name: 'a flag without its value', args: () => ['generate', '--prompt'], code: 2, message: /^mixscope: --prompt needs a value/ },
    { name: '--seed 1.5', args: () => ['generate', '--model', model, '--prompt', 'hello', '--seed', '1.5'], code: 2, message: /--seed must be an integer from 0 to 4294967295, got "1\.5" / },
    { name: '--seed 2^53+1', args: () => ['generate', '--model', model, '--prompt', 'hello', '--seed', '9007199254740993'], code: 2, message: /--seed must be an integer from 0 to 4294967295, got "9007199254740993" / },
    { name: '--seed 2^32', args: () => ['generate', '--model', model, '--prompt', 'hello', '--seed', '4294967296'], code: 2, message: /--seed must be an integer/ },
    { name: '--max-tokens 2.5', args: () => ['generate', '--model', model, '--prompt', 'hello', '--max-tokens', '2.5'], code: 2, message: /--max-tokens must be an integer from 1 to/ },
    { name: '--top-k -1', args: () => ['generate', '--model', model, '--prompt', 'hello', '--top-k=-1'], code: 2, message: /--top-k must be an integer from 0 to/ },
    { name: 'ids that are not ids', args: () => ['forward', '--model', model, '--ids', '1,x'], code: 2, message: /--ids: "x" is not a token id / },
    { name: 'a model folder that does not exist', args: () => ['forward', '--model', path.join(root, 'nowhere'), '--ids', '1'], code: 1, message: /CheckpointError: .*nowhere: is not a directory$/ },
    { name: 'a 100 kB flag value', args: () => ['generate', '--model', model, '--prompt', 'hello', '--seed', '9'.repeat(100_000)], code: 2, message: /--seed must be an integer from 0 to 4294967295, got "9{40}"\.\.\. \(100000 bytes\) / },
  ])('$name: a one-line error', { timeout: 120_000 }, async ({ name, args, code, message }) => {
    const r = await cli(args());
    expectOneLineError(name, r, code, message);
    // Every usage error points at --help, on the same line.
    if (code === 2) expect(r.stderr.trimEnd()).toMatch(usage);
  });

  it('a reader that stops after one byte (`| head -c 1`) ends generate quietly, exit code 0', async () => {
    const r = await cli(['generate', '--model', model, '--prompt', 'hello', '--max-tokens', '20', '--temperature', '1', '--seed', '1'], { closeAfterFirstByte: true });
    measured['EPIPE'] = { code: r.code, ms: Math.round(r.ms), cpuMs: Math.round(r.cpuMs), cpuOverStartupMs: Math.round(r.cpuMs - startupCpu), rssMB: Math.round(r.rssMB), chars: 0, line: r.stderr };
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(0);
  }, 120_000);

  it('--max-tokens past the context: finish "context" in --json, and one line on stderr that says --max-tokens was cut', async () => {
    // The model reads 32 positions; "hello" is 2 tokens with <s>, so 30 are left of the 600 asked.
    // Seed 1: a continuation that samples no end-of-sequence token before the window is full.
    const json = await cli(['generate', '--model', model, '--prompt', 'hello', '--max-tokens', '600', '--temperature', '1', '--seed', '1', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.finish).toBe('context');
    expect(out.ids).toHaveLength(30);
    expect(json.stderr.trimEnd().split('\n')).toEqual([
      'mixscope generate: stopped after 30 tokens because the model\'s context window (32 positions) is full: --max-tokens 600 was cut to 30 by a prompt of 2 tokens',
    ]);
    const short = await cli(['generate', '--model', model, '--prompt', 'hello', '--max-tokens', '3', '--json']);
    expect(JSON.parse(short.stdout).finish).toBe('length');
    expect(short.stderr).toBe('');
  }, 120_000);

  it('"</s>" typed in a prompt is text unless --special-tokens', async () => {
    const text = await cli(['tokenize', '--model', model, '--text', 'hello</s>']);
    const special = await cli(['tokenize', '--model', model, '--text', 'hello</s>', '--special-tokens']);
    expect(JSON.parse(text.stdout).ids).not.toContain(2);
    expect(JSON.parse(special.stdout).ids).toEqual([1, 274, 2]);
  }, 120_000);

  it('a model whose router overflows at run time: forward fails with a NonFiniteError, not a line of nulls', async () => {
    const dir = path.join(root, 'overflow');
    mkdirSync(dir);
    const t = tinyTensors('F32');
    // Layer 0: expert 0's gate row +3e38 and expert 1's -3e38 on a dimension the norm scales by
    // 1e6: finite weights (the loader takes them) whose router logits are +inf and -inf.
    const norm = new Float32Array(t['model.layers.0.post_attention_layernorm.weight'].data.slice().buffer);
    norm[0] = 1e6;
    const gate = new Float32Array(t['model.layers.0.block_sparse_moe.gate.weight'].data.slice().buffer);
    gate[0] = 3e38; gate[8] = -3e38;
    t['model.layers.0.post_attention_layernorm.weight'].data = new Uint8Array(norm.buffer);
    t['model.layers.0.block_sparse_moe.gate.weight'].data = new Uint8Array(gate.buffer);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(TINY_CONFIG));
    writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(t));
    const r = await cli(['forward', '--model', dir, '--ids', '1,2']);
    expectOneLineError('router overflow at run time', r, 1, /^mixscope forward: NonFiniteError: layer 0's router gave numbers that are not finite at position 0 \(probability NaN for expert \d\)/);
  }, 120_000);
});

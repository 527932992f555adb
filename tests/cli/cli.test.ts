// The command line as other tools call it: `npm run -s cli -- <command> ...`, one JSON line out.
import { describe, expect, it, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { goldenCases, maxAbsDiff } from '../golden/fixtures.ts';
import { safetensorsBytes } from '../../engine/checkpoint/testing/write-safetensors.ts';
import { tinyTensors, TINY_CONFIG } from '../../engine/checkpoint/testing/tiny-checkpoint.ts';
import { llamaStyleTokenizerJson } from '../helpers/llama-style-tokenizer.ts';
import { loadModelDirectory } from '../../engine/node.ts';
import { parseConfig } from '../../engine/config.ts';
import { mixtralTensorSpecs } from '../../engine/checkpoint/index.ts';
import { MixscopeTokenizer } from '../../engine/tokenizer.ts';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { routeLongText } from '../../engine/analysis/long-text-routing.ts';
import { layerRoutingStats } from '../../engine/analysis/routing-stats.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '-s', 'cli', '--', ...args], { cwd: root, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code as number) ?? 1 : 0, stdout, stderr: stderr.split('\n').filter((l) => !l.startsWith('npm warn')).join('\n') });
    });
  });
}

const golden = goldenCases().find((c) => c.name === 'f32-gqa2-e4-k2-window')!;

describe('cli forward', () => {
  it('matches the PyTorch reference on a fixture', async () => {
    const { code, stdout } = await cli(['forward', '--model', golden.dir, '--ids', golden.expected.ids.join(',')]);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const out = JSON.parse(stdout);
    expect(maxAbsDiff(out.logits, golden.expected.logits.at(-1))).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(out.router_logits.flat(2), golden.expected.router_logits.flat(2))).toBeLessThanOrEqual(1e-4);
    expect(out.experts).toEqual(golden.expected.experts);
    expect(maxAbsDiff(out.expert_weights.flat(2), golden.expected.expert_weights.flat(2))).toBeLessThanOrEqual(1e-5);
  });

  it('fails with a one-line error and a non-zero exit on bad ids', async () => {
    const r = await cli(['forward', '--model', golden.dir, '--ids', '1,500']);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/token id 500 is outside the vocabulary 0\.\.95/);
  });
});

describe('cli with a tokenizer', () => {
  let dir: string;
  beforeAll(() => {
    // A tiny checkpoint whose vocabulary is the Llama-style test tokenizer's.
    dir = mkdtempSync(path.join(tmpdir(), 'mixscope-cli-'));
    const config = { ...TINY_CONFIG, vocab_size: 277, bos_token_id: 1, eos_token_id: 2 };
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(tinyTensors('F16', config)));
    writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(llamaStyleTokenizerJson()));
  });

  it('info gives parameter counts and bytes per dtype', async () => {
    const r = await cli(['info', '--model', dir]);
    const out = JSON.parse(r.stdout);
    expect(out.config.vocab_size).toBe(277);
    expect(out.parameters.total).toBeGreaterThan(out.parameters.active_per_token);
    expect(out.bytes_per_dtype.F16).toBe(out.parameters.total * 2);
  });

  it('tokenize prints ids and tokens', async () => {
    const r = await cli(['tokenize', '--model', dir, '--text', 'hello world']);
    expect(JSON.parse(r.stdout)).toEqual({ ids: [1, 274, 276], tokens: ['<s>', '▁hello', '▁world'] });
  });

  it('generate prints text, and with --json the tokens and per-step expert choices per layer', async () => {
    const text = await cli(['generate', '--model', dir, '--prompt', 'hello', '--max-tokens', '6', '--temperature', '0']);
    expect(text.code).toBe(0);
    const r = await cli(['generate', '--model', dir, '--prompt', 'hello', '--max-tokens', '6', '--temperature', '0', '--json']);
    const out = JSON.parse(r.stdout);
    expect(out.ids.length).toBeLessThanOrEqual(6);
    expect(out.steps[0].experts).toHaveLength(2); // layers
    expect(out.steps[0].experts[0]).toHaveLength(1); // k
    expect(out.prompt_experts[0]).toHaveLength(out.prompt_ids.length);
    expect(text.stdout).toBe(`${out.text}\n`);
    expect(['length', 'eos']).toContain(out.finish);
    expect(out.finish === 'length').toBe(out.ids.length === 6);
    const sampled = await cli(['generate', '--model', dir, '--prompt', 'hello', '--max-tokens', '8', '--temperature', '1.5', '--seed', '4', '--json']);
    const again = await cli(['generate', '--model', dir, '--prompt', 'hello', '--max-tokens', '8', '--temperature', '1.5', '--seed', '4', '--json']);
    expect(JSON.parse(sampled.stdout).ids).toEqual(JSON.parse(again.stdout).ids);
  });

  it('an empty prompt is a clear error', async () => {
    const r = await cli(['generate', '--model', dir, '--prompt', '']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/prompt is empty/);
  });

  it('analyze gives per-layer expert shares and repetition rates, as the library computes them over windows', async () => {
    const text = 'hello world '.repeat(30); // ~60 tokens: longer than the 32 positions the model reads
    const textFile = path.join(dir, 'text.txt');
    writeFileSync(textFile, text);
    const r = await cli(['analyze', '--model', dir, '--text-file', textFile]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const { ckpt, tokenizerJson } = { ckpt: await loadModelDirectory(dir), tokenizerJson: llamaStyleTokenizerJson() };
    const ids = new MixscopeTokenizer(tokenizerJson).encode(text).ids;
    expect(out.tokens).toBe(ids.length);
    expect(out.windows).toBeGreaterThan(1);
    const routed = await routeLongText(new CpuEngine(ckpt.config, ckpt.weights), ids);
    expect(out.layers).toHaveLength(2);
    out.layers.forEach((layer: { first_share: number[]; topk_share: number[]; repeat_first: number; repeat_topk: number }, l: number) => {
      const expected = layerRoutingStats(routed.layers[l].indices, ckpt.config.num_experts_per_tok, ckpt.config.num_local_experts);
      expect(layer.first_share).toEqual(expected.first_share);
      expect(layer.topk_share).toEqual(expected.topk_share);
      expect(layer.repeat_first).toBe(expected.repeat_first);
      expect(layer.repeat_topk).toBe(expected.repeat_topk);
      expect(layer.first_share.reduce((a, b) => a + b)).toBeCloseTo(1, 9);
    });
    expect(out.random.repeat_first).toBe(1 / ckpt.config.num_local_experts);
    expect(Object.keys(out.random).sort()).toEqual(['repeat_first', 'repeat_topk']);
    const missing = await cli(['analyze', '--model', dir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--text-file/);
  });

  it('a generation that fills the model\'s window ends with finish "context" (--json) or says so on stderr', async () => {
    // The model reads 32 positions: a 4-token prompt leaves room for 28 tokens, fewer than asked.
    const args = ['generate', '--model', dir, '--prompt', 'hello world hello', '--max-tokens', '40', '--temperature', '1', '--seed', '3'];
    const json = await cli([...args, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.prompt_ids.length + out.ids.length).toBe(32);
    expect(out.finish).toBe('context');
    const plain = await cli(args);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toBe(`${out.text}\n`);
    expect(plain.stderr).toMatch(/context window \(32 positions\) is full/);
  });

  it('info and tokenize work on a folder with config.json (and tokenizer.json) alone; info reads only the safetensors headers', async () => {
    const bare = mkdtempSync(path.join(tmpdir(), 'mixscope-cli-bare-'));
    const config = { ...TINY_CONFIG, vocab_size: 277, bos_token_id: 1, eos_token_id: 2 };
    writeFileSync(path.join(bare, 'config.json'), JSON.stringify(config));
    writeFileSync(path.join(bare, 'tokenizer.json'), JSON.stringify(llamaStyleTokenizerJson()));
    const full = JSON.parse((await cli(['info', '--model', dir])).stdout);
    const r = await cli(['info', '--model', bare]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.parameters).toEqual(full.parameters);
    expect(out.bytes_per_dtype).toEqual({});
    expect(out.files).toEqual(['config.json', 'tokenizer.json']);
    expect(out.tokenizer).toEqual({ vocab_size: 277 });
    const tok = await cli(['tokenize', '--model', bare, '--text', 'hello world']);
    expect(tok.code, tok.stderr).toBe(0);
    expect(JSON.parse(tok.stdout)).toEqual({ ids: [1, 274, 276], tokens: ['<s>', '▁hello', '▁world'] });
    // Headers only: Mixtral-8x7B's config and a 93 GB safetensors file that is all hole but its
    // header (sparse, so it costs no disk). Reading the weights would take minutes; info does not.
    const big = mkdtempSync(path.join(tmpdir(), 'mixscope-cli-8x7b-'));
    const mixtral = {
      model_type: 'mixtral', vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32,
      num_attention_heads: 32, num_key_value_heads: 8, num_local_experts: 8, num_experts_per_tok: 2,
      rms_norm_eps: 1e-5, rope_theta: 1e6, sliding_window: null, max_position_embeddings: 32768, tie_word_embeddings: false,
    };
    writeFileSync(path.join(big, 'config.json'), JSON.stringify(mixtral));
    const header: Record<string, unknown> = {};
    let offset = 0;
    for (const t of mixtralTensorSpecs(parseConfig(mixtral))) {
      const bytes = t.shape.reduce((a, d) => a * d, 2);
      header[t.name] = { dtype: 'BF16', shape: t.shape, data_offsets: [offset, offset + bytes] };
      offset += bytes;
    }
    const json = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    const file = path.join(big, 'model.safetensors');
    writeFileSync(file, Buffer.concat([length, json]));
    truncateSync(file, 8 + json.length + offset);
    const t0 = Date.now();
    const huge = await cli(['info', '--model', big]);
    expect(huge.code, huge.stderr).toBe(0);
    const hugeOut = JSON.parse(huge.stdout);
    expect(hugeOut.parameters.total).toBe(46_702_792_704);
    expect(hugeOut.bytes_per_dtype).toEqual({ BF16: 2 * 46_702_792_704 });
    expect(Date.now() - t0).toBeLessThan(30_000);
    const noTokenizer = mkdtempSync(path.join(tmpdir(), 'mixscope-cli-bare-'));
    writeFileSync(path.join(noTokenizer, 'config.json'), JSON.stringify(config));
    const missing = await cli(['tokenize', '--model', noTokenizer, '--text', 'hello']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/tokenizer\.json is missing/);
  });

  it('a huge prompt is a clear error, not a hang', async () => {
    const r = await cli(['generate', '--model', dir, '--prompt', 'hello '.repeat(40)]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/this model reads at most 31/);
  });
});

describe('cli --backend webgpu (Dawn)', () => {
  it('forward gives the CPU numbers within 1e-3', async () => {
    const args = ['forward', '--model', golden.dir, '--ids', golden.expected.ids.join(',')];
    const [gpu, cpu] = [await cli([...args, '--backend', 'webgpu']), await cli(args)];
    expect(gpu.stderr).toBe('');
    expect(gpu.code).toBe(0);
    const a = JSON.parse(gpu.stdout), b = JSON.parse(cpu.stdout);
    expect(maxAbsDiff(a.logits, b.logits)).toBeLessThanOrEqual(1e-3);
    expect(a.experts).toEqual(b.experts);
  });
});

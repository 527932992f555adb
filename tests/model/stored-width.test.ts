// Streamed loading on the checkpoint side: readTensors hands over one tensor at a time at its
// stored width, the same from every source (a folder, files chosen in a browser, a URL, the Hub);
// the CPU engine on stored-width weights gives bit for bit the float32 engine's logits while
// holding about the file's size.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { topkSetFlips } from '../helpers/parity.ts';
import { filesSource, type NamedBlob } from '../../engine/checkpoint/source.ts';
import { urlSource } from '../../engine/checkpoint/source.ts';
import { readTensors } from '../../engine/checkpoint/tensor-reader.ts';
import { loadStoredCheckpoint } from '../../engine/checkpoint/load-stored.ts';
import { hubSource } from '../../engine/hub/source.ts';
import { directorySource, loadModelDirectory } from '../../engine/node.ts';
import { goldenCases } from '../golden/fixtures.ts';
import { startFakeHub, type FakeHub } from '../hub/fake-hub.ts';
import { TINY_DIR, projectRepos } from '../hub/hub-helpers.ts';
import type { CheckpointSource } from '../../engine/checkpoint/index.ts';

const digest = async (source: CheckpointSource) => {
  const out: string[] = [];
  for await (const t of readTensors(source)) out.push(`${t.file}:${t.name}:${t.dtype}:[${t.shape}]:${t.bytes.length}:${t.bytes.reduce((a, b) => (a * 31 + b) >>> 0, 7)}`);
  return out;
};

const blobs = (dir: string): NamedBlob[] => readdirSync(dir).filter((f) => statSync(path.join(dir, f)).isFile())
  .map((f) => Object.assign(new Blob([readFileSync(path.join(dir, f))]), { name: f }));

describe('reading a checkpoint one tensor at a time', () => {
  let hub: FakeHub;
  beforeAll(async () => { hub = await startFakeHub({ repos: projectRepos() }); });
  afterAll(async () => { await hub?.close(); });

  it('gives the same tensors, at stored width, from a folder, chosen files, a URL and the Hub (sharded too)', async () => {
    for (const [dir, repo] of [[TINY_DIR, 'mixscope/tiny'], [goldenCases().find((c) => c.name === 'f32-sharded')!.dir, 'golden/f32-sharded']] as const) {
      const fromDir = await digest(directorySource(dir));
      expect(fromDir.length).toBeGreaterThan(10);
      expect(await digest(filesSource(blobs(dir)))).toEqual(fromDir);
      expect(await digest(urlSource(`${hub.url}/${repo}/resolve/main/`))).toEqual(fromDir);
      expect(await digest(hubSource(repo, { endpoint: hub.url }))).toEqual(fromDir);
    }
    const dtypes = new Set((await digest(directorySource(TINY_DIR))).map((d) => d.split(':')[2]));
    expect(dtypes).toEqual(new Set(['F16']));
  });

  it('the CPU engine at stored width gives the float32 engine\'s logits exactly, on every golden checkpoint and the default model', async () => {
    for (const dir of [...goldenCases().filter((c) => !/^(granitemoe|olmoe|qwen)/.test(c.name)).map((c) => c.dir), TINY_DIR]) {
      const f32 = await loadModelDirectory(dir);
      const stored = await loadStoredCheckpoint(directorySource(dir));
      expect(stored.dtypeBytes).toEqual(f32.dtypeBytes);
      const ids = [1, 5, 9, 2, 7, 3].map((i) => i % f32.config.vocab_size);
      const a = await new CpuEngine(f32.config, f32.weights).forward(ids, { output: 'all' });
      const b = await new CpuEngine(stored.config, stored.weights).forward(ids, { output: 'all' });
      expect(Array.from(b.logits), dir).toEqual(Array.from(a.logits));
    }
  });

  it('holds about the file\'s size for a 16-bit checkpoint (float32 would hold twice it)', async () => {
    const stored = await loadStoredCheckpoint(directorySource(TINY_DIR));
    const file = statSync(path.join(TINY_DIR, 'model.safetensors')).size;
    const f32 = (await loadModelDirectory(TINY_DIR)).dtypeBytes.F16 * 2;
    expect(stored.heldBytes).toBeLessThan(file * 1.05);
    expect(stored.heldBytes).toBeGreaterThan(file * 0.9);
    expect(f32 / stored.heldBytes).toBeGreaterThan(1.9);
  });
});

describe('the CPU engine on q8 and q4 weights (the router stays float32)', () => {
  // Where quantization flips an expert choice, the logits after it follow another expert: a jump
  // of any size, not an error of the format. So the bounds hold before the first flip (every
  // position there has its whole causal past routed as at stored width).
  it('f32 and f16 conversions of an F16 checkpoint are exact; before the first expert flip q8 stays within 2% of the logits\' range and keeps every greedy token that leads by more than its error, q4 within 20%', async () => {
    const { convertWeights } = await import('../../engine/quant/quantize-weights.ts');
    const stored = await loadStoredCheckpoint(directorySource(TINY_DIR));
    const c = stored.config;
    const ids = [1, 415, 2936, 9, 77, 301, 12, 5];
    const T = ids.length, V = c.vocab_size, L = c.num_hidden_layers, K = c.num_experts_per_tok;
    const run = (w: typeof stored.weights) => new CpuEngine(c, w).forward(ids, { output: 'all', hooks: ['blocks.*.moe.hook_expert_choice'] });
    const base = await run(stored.weights), ref = base.logits;
    expect(Array.from((await run(convertWeights(stored.weights, c, 'f32'))).logits)).toEqual(Array.from(ref));
    expect(Array.from((await run(convertWeights(stored.weights, c, 'f16'))).logits)).toEqual(Array.from(ref));
    const argmax = (a: Float32Array, t: number) => { let b = 0; for (let v = 1; v < V; v++) if (a[t * V + v] > a[t * V + b]) b = v; return b; };
    const range = Math.max(...ref) - Math.min(...ref);
    for (const [format, tol] of [['q8', 0.02], ['q4', 0.2]] as const) {
      const r = await run(convertWeights(stored.weights, c, format)), q = r.logits;
      const unflipped = topkSetFlips(r.hooks, base.hooks, L, K).firstPosition;
      expect(unflipped, `${format}: positions before the first flip`).toBeGreaterThanOrEqual(format === 'q8' ? T / 2 : 1);
      let worst = 0;
      for (let i = 0; i < unflipped * V; i++) worst = Math.max(worst, Math.abs(q[i] - ref[i]));
      expect(worst / range, format).toBeLessThan(tol);
      if (format !== 'q8') continue;
      // A token that leads by more than twice the largest error cannot lose it; one within that margin
      // may (a near tie), but whatever q8 picks is then within the margin of the greedy token.
      for (let t = 0; t < unflipped; t++) {
        const row = ref.subarray(t * V, (t + 1) * V), want = argmax(ref, t), pick = argmax(q, t);
        const lead = row[want] - Math.max(...row.filter((_, v) => v !== want));
        if (lead > 2 * worst) expect(pick, `q8 greedy token at position ${t} (lead ${lead.toFixed(3)})`).toBe(want);
        else expect(row[want] - row[pick], `q8's pick at position ${t} is a near tie`).toBeLessThanOrEqual(2 * worst);
      }
    }
    const q4 = convertWeights(stored.weights, c, 'q4');
    expect(q4.layers[0].gate).toBe(stored.weights.layers[0].gate);
  });
});

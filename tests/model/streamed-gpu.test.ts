// Streamed loading on the GPU side: a random F16 Mixtral of 1.5 GB at real hidden width (4096) is
// written to a temporary folder and streamed onto the WebGPU engine (Dawn; SwiftShader here) in a
// child process whose V8 heap is capped at 256 MB. The process must never hold the model: its peak
// RSS stays under the weights' GPU buffers (SwiftShader keeps "device" memory in the process) plus
// a few of its largest tensors, where assembling the model in float32 first would add twice the
// file's size; and its logits match the CPU engine's on the same file at stored width.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { loadStoredCheckpoint } from '../../engine/checkpoint/load-stored.ts';
import { directorySource } from '../../engine/node.ts';
import { writeRandomMixtral } from '../helpers/big-checkpoint.ts';
import { requestNodeDevice } from '../gpu/node-webgpu.ts';
import { noAdapter } from '../gpu/ci-policy.ts';

const root = path.resolve(import.meta.dirname, '../..');
const MB = 2 ** 20;

/** Hidden 4096 (Mixtral-8x7B's), 2 layers of 4 experts of width 4096, a 32768-token vocabulary: 1.51 GB in F16. */
const CONFIG = {
  architectures: ['MixtralForCausalLM'], model_type: 'mixtral', vocab_size: 32768, hidden_size: 4096, intermediate_size: 4096,
  num_hidden_layers: 2, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 128, num_local_experts: 4, num_experts_per_tok: 2,
  rms_norm_eps: 1e-5, rope_theta: 1e6, sliding_window: null, max_position_embeddings: 4096, tie_word_embeddings: false, torch_dtype: 'float16',
};
const IDS = [1, 4242, 30001];

interface ChildReport { maxRss: number; afterLoadRss: number; peakArrayBuffers: number; gpuBytes: number; loadMs: number; forwardMs: number; description: string }

function runChild(dir: string, format: string): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--max-old-space-size=256', '--expose-gc', '--import', 'tsx', 'tests/model/streamed-gpu-child.ts', dir, format, IDS.join(',')],
      { cwd: root, encoding: 'utf8', maxBuffer: 16 * MB, timeout: 480_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`child failed: ${err.message}\n${stderr.slice(-2000)}`));
        else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildReport);
      });
  });
}

describe('a 1.5 GB checkpoint streamed onto the WebGPU engine', () => {
  let dir = '';
  let fileBytes = 0;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mixscope-big-'));
    fileBytes = writeRandomMixtral(dir, CONFIG, { seed: 7 });
  }, 300_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('loads in a process with a 256 MB heap, its peak RSS bounded by the GPU buffers plus its largest tensors, and matches the CPU engine within 1e-3', async (ctx) => {
    const gpu = await requestNodeDevice();
    if ('reason' in gpu) return noAdapter('streamed load', gpu.reason, (m) => ctx.skip(m));
    gpu.device.destroy();
    expect(fileBytes).toBeGreaterThan(1.5e9);
    const report = await runChild(dir, 'f16');
    const largest = 2 * CONFIG.vocab_size * CONFIG.hidden_size; // embed_tokens / lm_head as stored: 256 MiB
    // What the process may hold: the weights on the "device" (in-process on SwiftShader), the tensor
    // being uploaded and Dawn's staging copy of it, and the runtime (Node, V8, Dawn, SwiftShader).
    const bound = report.gpuBytes + 2 * largest + 640 * MB;
    // What assembling float32 first would have held on top of the device's copy.
    const float32 = report.gpuBytes + 2 * fileBytes;
    console.log(`[streamed] ${(fileBytes / 1e9).toFixed(2)} GB file on ${report.description}: peak RSS ${(report.maxRss / MB).toFixed(0)} MiB `
      + `(GPU buffers ${(report.gpuBytes / MB).toFixed(0)} MiB, bound ${(bound / MB).toFixed(0)} MiB, float32 assembly would need > ${(float32 / MB).toFixed(0)} MiB), `
      + `peak array buffers ${(report.peakArrayBuffers / MB).toFixed(0)} MiB (largest tensor ${(largest / MB).toFixed(0)} MiB); load ${report.loadMs} ms, forward ${report.forwardMs} ms`);
    expect(report.gpuBytes).toBeGreaterThanOrEqual(fileBytes - 1e6);
    expect(report.maxRss).toBeLessThan(bound);
    expect(bound).toBeLessThan(float32);
    // Live after a collection as each tensor is handed over: at most two tensors (the one handed
    // over and the next one being read) and the stream's chunks, never the model.
    expect(report.peakArrayBuffers).toBeLessThan(2 * largest + 128 * MB);

    const gpuLogits = new Float32Array(readFileSync(path.join(dir, 'logits-f16.bin')).buffer.slice(0));
    const stored = await loadStoredCheckpoint(directorySource(dir));
    const { logits } = await new CpuEngine(stored.config, stored.weights).forward(IDS, { output: 'all' });
    expect(gpuLogits.length).toBe(logits.length);
    let worst = 0, lo = Infinity, hi = -Infinity;
    for (let i = 0; i < logits.length; i++) {
      worst = Math.max(worst, Math.abs(gpuLogits[i] - logits[i]));
      lo = Math.min(lo, logits[i]); hi = Math.max(hi, logits[i]);
    }
    console.log(`[streamed] max |logit diff| against the CPU engine at stored width: ${worst.toExponential(2)} (logits span ${lo.toFixed(2)}..${hi.toFixed(2)})`);
    expect(worst).toBeLessThan(1e-3);
  }, 900_000);
});

// No leak per generation, measured. 100 generations of 32 tokens through the path the site's
// worker uses (site/api/generation-payloads.ts over the engine's generation loop, accumulated as
// the page does), some stopped midway and some abandoned by their consumer:
// - on the WebGPU engine (Dawn), the device's live GPU buffer bytes, counted by wrapping its
//   createBuffer and each buffer's destroy (engine/webgpu/buffer-meter.ts), do not grow after the
//   first generation;
// - on the CPU engine, the heap (and typed arrays' buffers) after a full garbage collection stays
//   flat within 1 MiB.
// A control run with sessions left open shows that both measures see a leak when there is one.
import { describe, expect, it, type TestContext } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Engine } from '../../engine/engine.ts';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { WebGpuEngine } from '../../engine/webgpu/engine.ts';
import { meterBuffers } from '../../engine/webgpu/buffer-meter.ts';
import { generationPayloads } from '../../site/api/generation-payloads.ts';
import { GenerationAccumulator } from '../../site/api/accumulator.ts';
import { randomWeights, tinyConfig } from '../helpers/random-model.ts';
import { requestNodeDevice } from '../gpu/node-webgpu.ts';
import { noAdapter } from '../gpu/ci-policy.ts';

const GENERATIONS = 100, TOKENS = 32;
const config = tinyConfig({ vocab_size: 96, hidden_size: 32, intermediate_size: 48, max_position_embeddings: 128 });
const weights = randomWeights(config, 21);

/**
 * Generation g as the worker runs it, with what the page does to it: every 10th is stopped after
 * 5 steps, every 10th (another one) abandoned after 9, the rest run to 32 tokens. Sampled or
 * greedy in turn, so both the GPU argmax and the logits paths run.
 */
async function generation(engine: Engine, g: number): Promise<number> {
  const prompt = Array.from({ length: 4 + (g % 7) }, (_, i) => 3 + ((g * 13 + i * 7) % (config.vocab_size - 3)));
  const stop = new AbortController();
  const acc = new GenerationAccumulator(config);
  let steps = 0;
  const options = { maxTokens: TOKENS, temperature: g % 2 ? 0 : 0.9, seed: g, candidates: g % 3 ? 10 : 0 };
  for await (const payload of generationPayloads(engine, null, prompt, options, stop.signal)) {
    acc.apply(payload);
    steps++;
    if (g % 10 === 7 && steps === 5) stop.abort();
    if (g % 10 === 3 && steps === 9) break;
  }
  acc.snapshot().attention(0);
  return steps;
}

/** A full collection: --expose-gc switched on from inside the process (no flag needed on the command line). */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => { gc(); gc(); };
}

const mb = (bytes: number) => +(bytes / 2 ** 20).toFixed(3);

describe('no leak per generation', () => {
  it(`WebGPU (Dawn): live GPU buffer bytes do not grow after the first of ${GENERATIONS} generations`, async (ctx: TestContext) => {
    const gpu = await requestNodeDevice();
    if ('reason' in gpu) return noAdapter('generation soak (Dawn)', gpu.reason, (m) => ctx.skip(m));
    const { device } = gpu;
    const meter = meterBuffers(device);
    const engine = await WebGpuEngine.create(device, config, weights, { weights: 'f32' }, 'soak');
    try {
      const loaded = meter.liveBytes;
      const after: number[] = [], buffers: number[] = [];
      let steps = 0;
      for (let g = 0; g < GENERATIONS; g++) {
        steps += await generation(engine, g);
        after.push(meter.liveBytes);
        buffers.push(meter.liveBuffers);
      }
      // Control: the same generations with sessions that nobody disposes (what the site did) grow.
      const held = [];
      for (let g = 0; g < 3; g++) {
        const s = engine.createSession();
        await s.forward([3, 4, 5, 6], { hooks: ['blocks.*.moe.hook_expert_choice'] });
        for (let t = 0; t < 8; t++) await s.forward([7]);
        held.push(s);
      }
      const leaked = meter.liveBytes - after[after.length - 1];
      held.forEach((s) => s.dispose());
      const figures = {
        weights_mb: mb(loaded), after_first_mb: mb(after[0]), max_after_mb: mb(Math.max(...after)), last_mb: mb(after[after.length - 1]),
        live_buffers_first: buffers[0], live_buffers_last: buffers[buffers.length - 1], buffers_created: meter.created, steps,
        control_3_open_sessions_mb: mb(leaked),
      };
      console.log(`[soak:webgpu] ${JSON.stringify(figures)}`);
      expect(Math.max(...after.slice(1))).toBeLessThanOrEqual(after[0]);
      expect(Math.max(...buffers.slice(1))).toBeLessThanOrEqual(buffers[0]);
      expect(leaked).toBeGreaterThan(0);
      expect(meter.liveBytes).toBe(after[after.length - 1]);
    } finally {
      engine.dispose();
      meter.detach();
      device.destroy();
    }
    expect(gpu.gpu).toBeDefined(); // keeps the Dawn instance alive until here
  }, 20 * 60_000);

  it(`CPU: the heap and array buffers after a full collection stay flat over ${GENERATIONS} generations (within 1 MiB)`, async () => {
    const gc = collector();
    const engine = new CpuEngine(config, weights);
    // Typed arrays keep their bytes outside the JavaScript heap: count both.
    const heap = () => { gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
    // Two generations first, so that code compiled and caches filled on first use are not counted.
    await generation(engine, 0);
    await generation(engine, 1);
    const first = heap();
    const after: number[] = [];
    for (let g = 2; g < GENERATIONS; g++) {
      await generation(engine, g);
      if (g % 10 === 9) after.push(heap());
    }
    // Control: payloads kept by a careless consumer show up in the same measure.
    const kept: unknown[] = [];
    for (let g = 0; g < 20; g++) for await (const p of generationPayloads(engine, null, [3, 4, 5], { maxTokens: TOKENS })) kept.push(p);
    const grown = heap() - after[after.length - 1];
    console.log(`[soak:cpu] ${JSON.stringify({ first_mb: mb(first), samples_mb: after.map(mb), max_growth_mb: mb(Math.max(...after) - first), control_20_generations_kept_mb: mb(grown) })}`);
    expect(Math.max(...after) - first).toBeLessThan(2 ** 20);
    expect(grown).toBeGreaterThan(2 ** 20);
    expect(kept.length).toBeGreaterThan(0);
  }, 10 * 60_000);
});

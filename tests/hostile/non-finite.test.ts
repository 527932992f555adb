// Numbers that stop being numbers at run time: weights that are finite but overflow, or NaN put
// into an engine's weights directly (the loader refuses them from a file). Generation stops with a
// NonFiniteError naming where (a layer's router, or the logits) and the position, on the CPU
// engine and on the WebGPU engine (Dawn), whether the token is picked on the GPU or sampled, and
// never yields a token chosen from NaN (argmax of NaN was token 0).
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { generate, type GenerateOptions } from '../../engine/generate.ts';
import type { Engine } from '../../engine/engine.ts';
import { NonFiniteError } from '../../engine/errors.ts';
import type { MixtralWeights } from '../../engine/weights.ts';
import { argmax, createSampler } from '../../engine/sampling.ts';
import { WebGpuEngine } from '../../engine/webgpu/engine.ts';
import { requestNodeDevice, type NodeGpu } from '../gpu/node-webgpu.ts';
import { noAdapter } from '../gpu/ci-policy.ts';
import { randomWeights, tinyConfig } from '../helpers/random-model.ts';

const config = tinyConfig();
const PROMPT = [1, 5, 9, 14];

/**
 * The tiny model with layer 1's router poisoned: a gate of NaN, or finite weights that overflow
 * (expert 0's gate row +3e38 and expert 1's -3e38 on a dimension the norm scales by 1e6, so the
 * two logits are +inf and -inf for every token, and the softmax is exp(inf - inf)).
 */
function poisonedGate(kind: 'nan' | 'overflow'): MixtralWeights {
  const w = randomWeights(config);
  const L = w.layers[1], D = config.hidden_size;
  if (kind === 'nan') L.gate = new Float32Array(L.gate.length).fill(NaN);
  else { L.post_attention_layernorm[0] = 1e6; L.gate[0] = 3e38; L.gate[D] = -3e38; }
  return w;
}

/** Every step until the loop ends; the error it ends with, if any. */
async function run(engine: Engine, o: GenerateOptions): Promise<{ tokens: number[]; error: unknown }> {
  const tokens: number[] = [];
  try {
    for await (const step of generate({ engine, prompt: PROMPT }, { maxTokens: 4, stopAtEos: false, ...o })) tokens.push(step.token);
  } catch (e) {
    return { tokens, error: e };
  }
  return { tokens, error: null };
}

const cases: { name: string; options: GenerateOptions; where: 'router' | 'logits' }[] = [
  { name: 'greedy, nothing observed (on WebGPU the argmax runs on the GPU)', options: {}, where: 'logits' },
  { name: 'sampled at temperature 0.8', options: { temperature: 0.8, seed: 3 }, where: 'logits' },
  { name: 'with the routing observed', options: { routing: true }, where: 'router' },
];

function expectStopped(r: { tokens: number[]; error: unknown }, where: 'router' | 'logits') {
  expect(r.tokens, 'no token is chosen from numbers that are not finite').toEqual([]);
  expect(r.error).toBeInstanceOf(NonFiniteError);
  const e = r.error as NonFiniteError;
  expect(e.where).toBe(where);
  expect(e.position).toBe(where === 'router' ? 0 : PROMPT.length - 1);
  if (where === 'router') expect(e.layer).toBe(1);
  expect(e.message).toMatch(where === 'router' ? /^layer 1's router gave numbers that are not finite at position 0 \(probability NaN for expert \d\)/ : /^the logits at position 3 are not finite numbers \((NaN for token 0|no logit is a number)\)/);
  expect(e.message.length).toBeLessThan(300);
  console.log(`[non-finite] ${e.message}`);
}

describe('a forward that turns non-finite stops generation with a NonFiniteError', () => {
  describe.each([['NaN', 'nan'], ['finite but overflowing (3e38)', 'overflow']] as const)('CPU engine, router gate %s', (_, kind) => {
    const engine = new CpuEngine(config, poisonedGate(kind));
    it.each(cases)('$name', async ({ options, where }) => expectStopped(await run(engine, options), where));
  });

  describe('WebGPU engine (Dawn)', () => {
    let gpu: NodeGpu | { reason: string };
    const engines = new Map<string, WebGpuEngine>();
    beforeAll(async () => { gpu = await requestNodeDevice(); });
    afterAll(() => { for (const e of engines.values()) e.dispose(); if (gpu && !('reason' in gpu)) gpu.device.destroy(); });
    const open = async (ctx: TestContext, kind: 'nan' | 'overflow') => {
      if ('reason' in gpu) noAdapter('non-finite on WebGPU (Dawn)', gpu.reason, (m) => ctx.skip(m));
      if (!engines.has(kind)) engines.set(kind, await WebGpuEngine.create((gpu as NodeGpu).device, config, poisonedGate(kind)));
      return engines.get(kind)!;
    };
    it.for(cases.flatMap((c) => (['nan', 'overflow'] as const).map((kind) => ({ ...c, kind }))))('router gate $kind, $name', async ({ options, where, kind }, ctx) => {
      expectStopped(await run(await open(ctx, kind), options), where);
    });
  });

  it('a healthy model still generates (the check refuses only what is not finite)', async () => {
    const r = await run(new CpuEngine(config, randomWeights(config)), { routing: true });
    expect(r.error).toBeNull();
    expect(r.tokens).toHaveLength(4);
  });
});

describe('sampling never picks a token from NaN', () => {
  it('argmax skips NaN, and says -1 when no value is a number', () => {
    expect(argmax([NaN, 1, 3, 3])).toBe(2);
    expect(argmax([NaN, NaN])).toBe(-1);
    expect(argmax([])).toBe(-1);
    expect(argmax([-Infinity, -Infinity])).toBe(0);
  });

  it('the sampler refuses logits that are NaN or +Infinity', () => {
    const s = createSampler({ temperature: 1, seed: 1 });
    expect(() => s([0, NaN, 1])).toThrow(/not finite \(NaN at token 1\)/);
    expect(() => s([0, Infinity])).toThrow(/not finite/);
    expect(s([0, -Infinity, 5])).toBe(2);
  });

  it.each([1.5, -1, 2 ** 32, 2 ** 53 + 2, NaN])('seed %s is refused rather than turned into another seed', (seed) => {
    expect(() => createSampler({ temperature: 1, seed })).toThrow(/seed must be an integer from 0 to 4294967295|finite number/);
  });

  it('seeds 0 and 2^32 - 1 are seeds', () => {
    for (const seed of [0, 2 ** 32 - 1]) expect(() => createSampler({ temperature: 1, seed })).not.toThrow();
  });
});

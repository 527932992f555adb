// Every family at stored width and in 8 and 4 bits on the CPU engine: the stored-width loader
// gives the float32 loader's logits bit for bit (the shared expert, the dense layers and
// Granite's fused experts included), convertWeights reaches every matrix a family has (and
// leaves the routers at full width), a quantized model computes exactly what its dequantized
// weights do, its logits stay within the documented tolerances of the float32 ones, and the
// bytes held are what the footprint (engine/footprint) says the format takes.
//
// The tolerances are on the largest logit error over the range of the float32 logits, with the
// routing held to the float32 run's (its experts and their weights, by force_experts): one
// routing decision that flips at a near tie moves a toy model's logits by more than the
// weights' error does, and what quantization does to routing is measured on the trained model
// (bench/quant-routing.ts), not on random weights. These toy models have one group of 32 per
// row and uniform random weights, q4's worst case: measured q8 <= 1.4%, q4 <= 15.7%.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CpuEngine } from '../../engine/cpu/engine.ts';
import { loadStoredCheckpoint } from '../../engine/checkpoint/load-stored.ts';
import { weightsBytesHeld, type CpuLayerWeights, type CpuWeights, type WeightMatrix } from '../../engine/cpu/stored-weights.ts';
import { convertWeights } from '../../engine/quant/quantize-weights.ts';
import { moeTensorTable, weightFootprint, type WeightFormat } from '../../engine/footprint/index.ts';
import { directorySource, loadModelDirectory } from '../../engine/node.ts';
import type { MixtralConfig } from '../../engine/config.ts';
import type { ExpertChoice } from '../../engine/hooks/request.ts';
import type { Intervention } from '../../engine/hooks/interventions.ts';
import { familyGoldenCases } from '../golden/fixtures.ts';
import { tinyFamilyConfig, writeFamilyCheckpoint, type FamilyName } from '../helpers/family-checkpoint.ts';

/** Largest |logit error| over the range of the float32 logits, routing held (README). */
const TOLERANCE = { f16: 0.005, q8: 0.02, q4: 0.2 } as const;

const tmp = mkdtempSync(path.join(tmpdir(), 'mixscope-families-stored-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A random F16 checkpoint of each family at toy size; the Qwen ones with a dense layer. */
const RANDOM: [FamilyName, Record<string, unknown>][] = [
  ['olmoe', {}],
  ['qwen2_moe', { mlp_only_layers: [1] }],
  ['qwen3_moe', { mlp_only_layers: [0] }],
  ['granitemoe', {}],
];
const cases = [
  ...familyGoldenCases().map((c) => ({ name: c.name, dir: c.dir, ids: c.expected.ids })),
  ...RANDOM.map(([family, over]) => ({
    name: `random F16 ${family}`,
    dir: () => writeFamilyCheckpoint(path.join(tmp, family), tinyFamilyConfig(family, { ...over, torch_dtype: 'float16' }), 'F16'),
    ids: [1, 40, 7, 200, 13, 99, 2, 64],
  })),
];

const isQuant = (m: WeightMatrix) => !(m instanceof Float32Array) && 'format' in m;
const BIG: (keyof CpuLayerWeights)[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'shared_gate_proj', 'shared_up_proj', 'shared_down_proj', 'mlp_gate_proj', 'mlp_up_proj', 'mlp_down_proj'];

describe.each(cases)('$name at stored width and quantized', ({ dir: dirOrMake, ids }) => {
  let dir: string;
  let config: MixtralConfig;
  let stored: Awaited<ReturnType<typeof loadStoredCheckpoint>>;
  let reference: Float32Array;
  /** The float32 run's routing, every position of every sparse layer, as force_experts. */
  const held: Intervention[] = [];
  const logits = async (w: CpuWeights, interventions?: Intervention[]) => (await new CpuEngine(config, w).forward(ids, { output: 'all', interventions })).logits;
  beforeAll(async () => {
    dir = typeof dirOrMake === 'string' ? dirOrMake : dirOrMake();
    const f32 = await loadModelDirectory(dir);
    config = f32.config;
    const r = await new CpuEngine(config, f32.weights).forward(ids, { output: 'all', hooks: ['blocks.*.moe.hook_expert_choice'] });
    reference = r.logits;
    const K = config.num_experts_per_tok;
    for (const [name, v] of r.hooks) {
      const { indices, weights } = v as ExpertChoice;
      for (let t = 0; t < ids.length; t++) {
        held.push({ kind: 'force_experts', layer: Number(name.split('.')[1]), positions: [t], experts: Array.from(indices.subarray(t * K, (t + 1) * K)), weights: Array.from(weights.subarray(t * K, (t + 1) * K)) });
      }
    }
    expect(held.length).toBeGreaterThan(0);
    stored = await loadStoredCheckpoint(directorySource(dir));
  });
  const raw = () => JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const footprint = (format: WeightFormat) => weightFootprint(moeTensorTable(raw()), format).bytes;

  it('gives the float32 loader\'s logits bit for bit', async () => {
    expect(Array.from(await logits(stored.weights))).toEqual(Array.from(reference));
  });

  it('holds what the footprint says its stored width takes (fused experts once)', () => {
    const dtype = Object.keys(stored.dtypeBytes);
    expect(dtype.length).toBe(1);
    expect(stored.heldBytes).toBe(footprint(dtype[0] === 'F32' ? 'f32' : 'f16'));
    expect(weightsBytesHeld(stored.weights)).toBe(stored.heldBytes);
  });

  it('f32 conversion is exact; f16 exact on 16-bit files', async () => {
    expect(Array.from(await logits(convertWeights(stored.weights, config, 'f32')))).toEqual(Array.from(reference));
    if (!stored.dtypeBytes.F16) return;
    expect(Array.from(await logits(convertWeights(stored.weights, config, 'f16')))).toEqual(Array.from(reference));
  });

  it.each(['f32', 'f16', 'q8', 'q4'] as const)('in %s holds the footprint\'s bytes, every matrix converted, the routers at full width', (format) => {
    const w = convertWeights(stored.weights, config, format);
    expect(weightsBytesHeld(w)).toBe(footprint(format));
    for (const [l, layer] of w.layers.entries()) {
      const from = stored.weights.layers[l];
      expect(layer.gate).toBe(from.gate);
      expect(layer.shared_expert_gate).toBe(from.shared_expert_gate);
      expect(layer.experts_input_linear).toBeUndefined();
      expect(layer.experts.length).toBe(from.experts.length);
      if (format !== 'q8' && format !== 'q4') continue;
      for (const f of BIG) expect(layer[f] === undefined || isQuant(layer[f] as WeightMatrix), `layer ${l} ${f}`).toBe(true);
      for (const e of layer.experts) expect([e.w1, e.w2, e.w3].every(isQuant)).toBe(true);
    }
    if (format === 'q8' || format === 'q4') expect(isQuant(w.embed_tokens) && isQuant(w.lm_head)).toBe(true);
    expect(w.lm_head === w.embed_tokens).toBe(stored.weights.lm_head === stored.weights.embed_tokens);
  });

  it.each(['f32', 'f16', 'q8', 'q4'] as const)('loaded in %s (each matrix converted as it arrives): the weights convertWeights gives, the footprint\'s bytes', async (format) => {
    const loaded = await loadStoredCheckpoint(directorySource(dir), { format });
    expect(loaded.heldBytes).toBe(footprint(format));
    expect(Array.from(await logits(loaded.weights))).toEqual(Array.from(await logits(convertWeights(stored.weights, config, format))));
  });

  it.each(['q8', 'q4'] as const)('in %s computes exactly what its weights dequantized to float32 compute', async (format) => {
    const q = convertWeights(stored.weights, config, format);
    expect(Array.from(await logits(q))).toEqual(Array.from(await logits(convertWeights(q, config, 'f32'))));
  });

  it.each(['f16', 'q8', 'q4'] as const)('in %s stays within its tolerance of the float32 logits, routing held', async (format) => {
    const q = await logits(convertWeights(stored.weights, config, format), held);
    const ref = await logits(stored.weights, held);
    expect(Array.from(ref)).toEqual(Array.from(reference));
    let worst = 0, lo = Infinity, hi = -Infinity;
    for (let i = 0; i < ref.length; i++) {
      worst = Math.max(worst, Math.abs(q[i] - ref[i]));
      lo = Math.min(lo, ref[i]); hi = Math.max(hi, ref[i]);
    }
    expect(Number.isFinite(worst)).toBe(true);
    expect(worst / (hi - lo)).toBeLessThan(TOLERANCE[format]);
  });
});

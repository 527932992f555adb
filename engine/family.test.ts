// Reading each family's config.json: the differences from Mixtral, named, with transformers'
// defaults; bad or unsupported fields refused by name; parameter counts of the published configs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.ts';
import { countParameters } from './params.ts';
import { readdirSync } from 'node:fs';
import { isMoeLayer, moeLayerIndices, sparseLayerCount } from './family.ts';
import { mixtralTensorSpecs, tensorCount, tensorSpecFor } from './checkpoint/tensor-specs.ts';
import { CheckpointError } from './errors.ts';

const published = (file: string) => JSON.parse(readFileSync(new URL(`../models/configs/${file}`, import.meta.url), 'utf8')) as Record<string, unknown>;

// Counts by tests/reference/count_params.py (moe_reference.py), each within its model card's rounding.
const COUNTS: [string, number, number][] = [
  ['mixtral-8x7b-v0.1.json', 46_702_792_704, 12_879_925_248],
  ['mixtral-8x22b-v0.1.json', 140_620_634_112, 39_152_031_744],
  ['olmoe-1b-7b-0924.json', 6_919_161_856, 1_282_017_280],
  ['qwen1.5-moe-a2.7b-chat.json', 14_315_784_192, 2_689_173_504],
  ['qwen3-30b-a3b.json', 30_532_122_624, 3_353_032_704],
  ['granite-3.1-1b-a400m.json', 1_334_628_352, 428_658_688],
];

describe('published configs of every family', () => {
  it.each(COUNTS)('%s: total and active parameters as the PyTorch reference counts them', (file, total, active) => {
    const p = countParameters(parseConfig(published(file)));
    expect(p.total).toBe(total);
    expect(p.activePerToken).toBe(active);
  });

  it('names the family and reads its differences', () => {
    const olmoe = parseConfig(published('olmoe-1b-7b-0924.json'));
    expect(olmoe.family).toMatchObject({ name: 'OLMoE', qk_norm: 'projection', norm_topk_prob: false, qkv_bias: false });
    expect([olmoe.num_local_experts, olmoe.num_experts_per_tok]).toEqual([64, 8]);
    const qwen = parseConfig(published('qwen1.5-moe-a2.7b-chat.json'));
    expect(qwen.family).toMatchObject({ name: 'Qwen2-MoE', qkv_bias: true, o_bias: false, shared_expert_intermediate_size: 5632, dense_intermediate_size: 5632 });
    expect(qwen.intermediate_size).toBe(1408);            // the routed experts' width, Mixtral's name
    expect(qwen.sliding_window).toBeNull();               // sliding_window is set but use_sliding_window is false
    const qwen3 = parseConfig(published('qwen3-30b-a3b.json'));
    expect(qwen3.family).toMatchObject({ name: 'Qwen3-MoE', qk_norm: 'head', norm_topk_prob: true });
    expect([qwen3.head_dim, qwen3.num_local_experts]).toEqual([128, 128]);
    const granite = parseConfig(published('granite-3.1-1b-a400m.json'));
    expect(granite.family).toMatchObject({ name: 'Granite-MoE', router: 'topk-softmax', embedding_multiplier: 12, residual_multiplier: 0.22, logits_scaling: 6, attention_scale: 0.015625 });
    expect(granite.tie_word_embeddings).toBe(true);
    expect(parseConfig(published('mixtral-8x7b-v0.1.json')).family).toMatchObject({ name: 'Mixtral', router: 'softmax-topk', norm_topk_prob: true, qk_norm: 'none' });
  });

  it('a config saved by transformers v5 may spell qwen3_moe experts num_local_experts', () => {
    const { num_experts: _, ...rest } = published('qwen3-30b-a3b.json');
    expect(parseConfig({ ...rest, num_local_experts: 128 }).num_local_experts).toBe(128);
  });
});

describe('sparse and dense layers', () => {
  const base = { ...published('qwen1.5-moe-a2.7b-chat.json'), num_hidden_layers: 4 };
  it('decoder_sparse_step 2 makes the odd layers sparse; mlp_only_layers are dense', () => {
    expect(moeLayerIndices(parseConfig({ ...base, decoder_sparse_step: 2 }))).toEqual([1, 3]);
    expect(moeLayerIndices(parseConfig({ ...base, mlp_only_layers: [0, 2] }))).toEqual([1, 3]);
    expect(isMoeLayer(parseConfig(base).family, 0)).toBe(true);
  });
  it('a dense layer holds a dense MLP and no router or experts', () => {
    const c = parseConfig({ ...base, mlp_only_layers: [0] });
    const names = mixtralTensorSpecs(c).map((s) => s.name);
    expect(names).toContain('model.layers.0.mlp.gate_proj.weight');
    expect(names).not.toContain('model.layers.0.mlp.gate.weight');
    expect(names).not.toContain('model.layers.0.mlp.experts.0.up_proj.weight');
    expect(names).toContain('model.layers.1.mlp.shared_expert_gate.weight');
    const p = countParameters(c);
    expect([p.moeLayers, p.denseLayers]).toEqual([3, 1]);
  });
});

describe("every family's tensors looked up by name and counted, as the loader checks a config against its files", () => {
  const GOLDEN = new URL('../tests/fixtures/golden/', import.meta.url);
  const fixtures = ['olmoe', 'qwen2_moe', 'qwen3_moe', 'granitemoe'].flatMap((type) =>
    readdirSync(new URL(`${type}/`, GOLDEN)).map((dir) => `${type}/${dir}`));
  it.each(fixtures)('%s: tensorSpecFor finds each tensor, tensorCount counts them', (dir) => {
    const c = parseConfig(readFileSync(new URL(`${dir}/config.json`, GOLDEN), 'utf8'));
    const specs = mixtralTensorSpecs(c);
    for (const s of specs) expect(tensorSpecFor(c, s.name), s.name).toEqual(s);
    expect(tensorCount(c)).toBe(specs.length);
    expect(tensorCount(c, { optional: true })).toBe(mixtralTensorSpecs(c, { optional: true }).length);
    expect(sparseLayerCount(c)).toBe(moeLayerIndices(c).length);
  });

  const base = { ...published('qwen1.5-moe-a2.7b-chat.json'), num_hidden_layers: 6, decoder_sparse_step: 2, mlp_only_layers: [1, 2] };
  it('a dense layer has no router, shared expert nor experts; a sparse one no dense MLP', () => {
    const c = parseConfig(base);
    expect(moeLayerIndices(c)).toEqual([3, 5]);
    expect(sparseLayerCount(c)).toBe(2);
    expect(tensorSpecFor(c, 'model.layers.1.mlp.gate.weight')).toBeNull();
    expect(tensorSpecFor(c, 'model.layers.1.mlp.experts.0.up_proj.weight')).toBeNull();
    expect(tensorSpecFor(c, 'model.layers.0.mlp.shared_expert_gate.weight')).toBeNull();
    expect(tensorSpecFor(c, 'model.layers.3.mlp.gate_proj.weight')).toBeNull();
    expect(tensorSpecFor(c, 'model.layers.3.mlp.experts.59.down_proj.weight')?.shape).toEqual([c.hidden_size, c.intermediate_size]);
    expect(tensorSpecFor(c, 'model.layers.3.mlp.experts.60.down_proj.weight')).toBeNull();
    expect(tensorSpecFor(c, 'model.layers.2.mlp.gate_proj.weight')?.shape).toEqual([5632, c.hidden_size]);
  });

  it('counts a family config of 10^8 layers without walking them', () => {
    const huge = parseConfig({ ...base, num_hidden_layers: 1e8, mlp_only_layers: [0, 1, 99_999_999] });
    const t0 = performance.now();
    // Sparse: odd-numbered layers (l + 1 even) less layers 1 and 99 999 999 named dense.
    expect(sparseLayerCount(huge)).toBe(5e7 - 2);
    const layerRows = 4 + 3 + 2;                // norms, q/k/v/o; q/k/v biases
    const sparse = 1 + 4 + 60 * 3, dense = 3;   // router, shared expert, experts; dense MLP
    expect(tensorCount(huge)).toBe(3 + 1e8 * layerRows + (5e7 - 2) * sparse + (5e7 + 2) * dense);
    expect(countParametersFast(huge)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

const countParametersFast = (c: ReturnType<typeof parseConfig>) => Number.isFinite(countParameters(c).total);

describe('bad family configs are refused by name', () => {
  const bad = (over: Record<string, unknown>, file = 'qwen3-30b-a3b.json') => () => parseConfig({ ...published(file), ...over });
  it.each([
    [{ model_type: 'llama' }, /model_type is "llama", expected "mixtral", "olmoe", "qwen2_moe", "qwen3_moe" or "granitemoe"/],
    [{ hidden_act: 'gelu' }, /hidden_act "gelu" is not supported/],
    [{ rope_scaling: { type: 'yarn', factor: 4 } }, /rope_scaling is not supported/],
    [{ use_sliding_window: true }, /use_sliding_window: true is not supported/],
    [{ mlp_only_layers: [99] }, /"mlp_only_layers" must list layer indices in 0..47/],
    [{ norm_topk_prob: 'yes' }, /"norm_topk_prob" must be true or false/],
    [{ decoder_sparse_step: 0 }, /"decoder_sparse_step" must be a positive integer/],
  ])('%j', (over, message) => {
    expect(bad(over)).toThrow(CheckpointError);
    expect(bad(over)).toThrow(message);
  });
  it('a head_dim that olmoe would ignore', () => {
    expect(bad({ head_dim: 64 }, 'olmoe-1b-7b-0924.json')).toThrow(/head_dim \(64\) differs from hidden_size \/ num_attention_heads \(128\)/);
  });
  it('granite multipliers must be positive numbers', () => {
    expect(bad({ logits_scaling: 0 }, 'granite-3.1-1b-a400m.json')).toThrow(/"logits_scaling" must be a positive number/);
  });
});

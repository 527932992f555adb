// The tensor table is the one list of a checkpoint's tensors: names, shapes, and the fields of
// MixtralWeights they fill.
import { describe, expect, it } from 'vitest';
import { assembleWeights, eachTensorSpec, mixtralTensorSpecs, tensorCount, tensorOf, tensorSpecFor } from './tensor-specs.ts';
import { randomWeights, tinyConfig } from '../../tests/helpers/random-model.ts';

describe('the tensor table', () => {
  const c = tinyConfig();

  it('names every tensor once, in checkpoint order, with the shape config.json gives it', () => {
    const specs = mixtralTensorSpecs(c);
    const E = c.num_local_experts, L = c.num_hidden_layers;
    expect(specs.length).toBe(1 + L * (7 + 3 * E) + 2);
    expect(new Set(specs.map((s) => s.name)).size).toBe(specs.length);
    expect(specs[0]).toMatchObject({ name: 'model.embed_tokens.weight', shape: [c.vocab_size, c.hidden_size] });
    expect(specs.at(-1)).toMatchObject({ name: 'lm_head.weight', shape: [c.vocab_size, c.hidden_size] });
    expect(specs.find((s) => s.name === 'model.layers.1.self_attn.k_proj.weight')?.shape).toEqual([c.num_key_value_heads * c.head_dim, c.hidden_size]);
    expect(specs.find((s) => s.name === 'model.layers.1.block_sparse_moe.experts.3.w2.weight')?.shape).toEqual([c.hidden_size, c.intermediate_size]);
  });

  it('leaves lm_head out under tied embeddings, unless optional tensors are asked for', () => {
    const tied = tinyConfig({ tie_word_embeddings: true });
    expect(mixtralTensorSpecs(tied).some((s) => s.name === 'lm_head.weight')).toBe(false);
    expect(mixtralTensorSpecs(tied, { optional: true }).at(-1)?.name).toBe('lm_head.weight');
  });

  it('places every tensor in a field of MixtralWeights: assembling what it names gives the weights back', () => {
    const w = randomWeights(c);
    const specs = mixtralTensorSpecs(c);
    for (const s of specs) expect(tensorOf(w, s).length, s.name).toBe(s.shape.reduce((a, b) => a * b, 1));
    const back = assembleWeights(c, new Map(specs.map((s) => [s.name, tensorOf(w, s)])));
    expect(back).toEqual(w);
    expect(back.layers[1].experts[2].w3).toBe(w.layers[1].experts[2].w3);
  });

  it('reads embed_tokens as lm_head under tied embeddings', () => {
    const tied = tinyConfig({ tie_word_embeddings: true });
    const w = randomWeights(tied);
    const back = assembleWeights(tied, new Map(mixtralTensorSpecs(tied).map((s) => [s.name, tensorOf(w, s)])));
    expect(back.lm_head).toBe(w.embed_tokens);
  });
});

describe('looking tensors up by name, without listing what a config describes', () => {
  const c = tinyConfig();

  it('finds every tensor of the table by its name, with the same spec', () => {
    for (const s of mixtralTensorSpecs(c)) expect(tensorSpecFor(c, s.name), s.name).toEqual(s);
    expect(tensorCount(c)).toBe(mixtralTensorSpecs(c).length);
    const tied = tinyConfig({ tie_word_embeddings: true });
    expect(tensorCount(tied)).toBe(mixtralTensorSpecs(tied).length);
    expect(tensorCount(tied, { optional: true })).toBe(mixtralTensorSpecs(tied, { optional: true }).length);
    expect(tensorSpecFor(tied, 'lm_head.weight')).toBeNull();
    expect(tensorSpecFor(tied, 'lm_head.weight', { optional: true })?.field).toBe('lm_head');
  });

  it.each([
    'model.layers.2.input_layernorm.weight',              // layer past the config's
    'model.layers.0.block_sparse_moe.experts.4.w1.weight', // expert past the config's
    'model.layers.01.input_layernorm.weight',              // not how Hugging Face writes 1
    'model.layers.-1.input_layernorm.weight',
    'model.layers..input_layernorm.weight',
    'model.layers.0.input_layernorm.weight.extra',
    'model.layers.0.self_attn.rotary_emb.inv_freq',
    'model.layers.99999999999.input_layernorm.weight',
  ])('%s is not a tensor of this model', (name) => {
    expect(tensorSpecFor(c, name)).toBeNull();
  });

  it('counts and walks a config of 10^8 layers at once: nothing is built per layer until asked', () => {
    const huge = tinyConfig({ num_hidden_layers: 1e8, num_local_experts: 64 });
    const t0 = performance.now();
    expect(tensorCount(huge)).toBe(3 + 1e8 * (7 + 3 * 64));
    const first = eachTensorSpec(huge);
    for (let i = 0; i < 1000; i++) first.next();
    expect(tensorSpecFor(huge, 'model.layers.99999999.block_sparse_moe.experts.63.w3.weight')?.shape).toEqual([huge.intermediate_size, huge.hidden_size]);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

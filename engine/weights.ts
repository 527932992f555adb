// The weights of a Mixtral model in the engine's own layout: every tensor as a row-major
// Float32Array with the shape Hugging Face gives it (nn.Linear weights are [out, in]).
//
// Dimension letters: V vocab, D hidden, F expert width, E experts, H query heads,
// Hkv key/value heads, Dh head_dim.

export interface ExpertWeights {
  w1: Float32Array; // (F, D)  gate projection
  w2: Float32Array; // (D, F)  down projection
  w3: Float32Array; // (F, D)  up projection
}

export interface LayerWeights {
  input_layernorm: Float32Array;          // (D)
  q_proj: Float32Array;                   // (H * Dh, D)
  k_proj: Float32Array;                   // (Hkv * Dh, D)
  v_proj: Float32Array;                   // (Hkv * Dh, D)
  o_proj: Float32Array;                   // (D, H * Dh)
  post_attention_layernorm: Float32Array; // (D)
  gate: Float32Array;                     // (E, D)  the router
  experts: ExpertWeights[];               // E of them
}

export interface MixtralWeights {
  embed_tokens: Float32Array; // (V, D)
  layers: LayerWeights[];
  norm: Float32Array;         // (D)
  lm_head: Float32Array;      // (V, D); the same array as embed_tokens when tied
}

/** The fields that hold one tensor each: of the model, of a layer, of an expert. */
export type ModelTensor = 'embed_tokens' | 'norm' | 'lm_head';
export type LayerTensor = Exclude<keyof LayerWeights, 'experts'>;
export type ExpertTensor = keyof ExpertWeights;

/**
 * One tensor of a checkpoint: its Hugging Face name, the shape config.json gives it, and the
 * field of MixtralWeights it fills (checkpoint/tensor-specs.ts lists them all).
 */
export type TensorSpec = { name: string; shape: number[] } & (
  | { scope: 'model'; field: ModelTensor }
  | { scope: 'layer'; field: LayerTensor; layer: number }
  | { scope: 'expert'; field: ExpertTensor; layer: number; expert: number });

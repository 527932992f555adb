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

/**
 * The tensors only some families have (docs/families.md), named after their Hugging Face names;
 * a layer holds those its family and its kind (sparse or dense) need.
 */
export interface FamilyLayerWeights {
  q_proj_bias: Float32Array;            // (H * Dh)      qwen2_moe; others iff attention_bias
  k_proj_bias: Float32Array;            // (Hkv * Dh)
  v_proj_bias: Float32Array;            // (Hkv * Dh)
  o_proj_bias: Float32Array;            // (D)
  q_norm: Float32Array;                 // (H * Dh) olmoe (whole projection) or (Dh) qwen3_moe (per head)
  k_norm: Float32Array;                 // (Hkv * Dh) or (Dh)
  shared_gate_proj: Float32Array;       // (Fs, D)  qwen2_moe's shared expert
  shared_up_proj: Float32Array;         // (Fs, D)
  shared_down_proj: Float32Array;       // (D, Fs)
  shared_expert_gate: Float32Array;     // (1, D)   its sigmoid gate
  mlp_gate_proj: Float32Array;          // (Fd, D)  a dense layer's MLP (qwen families)
  mlp_up_proj: Float32Array;            // (Fd, D)
  mlp_down_proj: Float32Array;          // (D, Fd)
  experts_input_linear: Float32Array;   // (E, 2F, D) granitemoe's fused experts: per expert F gate rows, then F up rows
  experts_output_linear: Float32Array;  // (E, D, F)
}

export interface LayerWeights extends Partial<FamilyLayerWeights> {
  input_layernorm: Float32Array;          // (D)
  q_proj: Float32Array;                   // (H * Dh, D)
  k_proj: Float32Array;                   // (Hkv * Dh, D)
  v_proj: Float32Array;                   // (Hkv * Dh, D)
  o_proj: Float32Array;                   // (D, H * Dh)
  post_attention_layernorm: Float32Array; // (D)
  gate: Float32Array;                     // (E, D)  the router; empty in a dense layer
  experts: ExpertWeights[];               // E of them (granitemoe: views into its fused tensors); none in a dense layer
}

export interface MixtralWeights {
  embed_tokens: Float32Array; // (V, D)
  layers: LayerWeights[];
  norm: Float32Array;         // (D)
  lm_head: Float32Array;      // (V, D); the same array as embed_tokens when tied
}

/** The fields that hold one tensor each: of the model, of a layer, of an expert. */
export type ModelTensor = 'embed_tokens' | 'norm' | 'lm_head';
export type LayerTensor = Exclude<keyof LayerWeights, 'experts' | FamilyLayerTensor>;
export type FamilyLayerTensor = keyof FamilyLayerWeights;
export type ExpertTensor = keyof ExpertWeights;

/**
 * One tensor of a checkpoint: its Hugging Face name, the shape config.json gives it, and the
 * field of MixtralWeights it fills (checkpoint/tensor-specs.ts lists them all).
 */
export type TensorSpec = { name: string; shape: number[] } & (
  | { scope: 'model'; field: ModelTensor }
  | { scope: 'layer'; field: LayerTensor | FamilyLayerTensor; layer: number }
  | { scope: 'expert'; field: ExpertTensor; layer: number; expert: number });

// Every tensor a Mixtral checkpoint holds, by its Hugging Face name, with the shape config.json implies.
import type { MixtralConfig } from '../config.ts';
import type { TensorSpec } from '../weights.ts';

export function mixtralTensorSpecs(c: MixtralConfig): TensorSpec[] {
  const D = c.hidden_size, F = c.intermediate_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  const specs: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocab_size, D] }];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    specs.push(
      { name: `${p}.input_layernorm.weight`, shape: [D] },
      { name: `${p}.self_attn.q_proj.weight`, shape: [q, D] },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kv, D] },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kv, D] },
      { name: `${p}.self_attn.o_proj.weight`, shape: [D, q] },
      { name: `${p}.post_attention_layernorm.weight`, shape: [D] },
      { name: `${p}.block_sparse_moe.gate.weight`, shape: [c.num_local_experts, D] },
    );
    for (let e = 0; e < c.num_local_experts; e++) {
      const x = `${p}.block_sparse_moe.experts.${e}`;
      specs.push({ name: `${x}.w1.weight`, shape: [F, D] }, { name: `${x}.w2.weight`, shape: [D, F] }, { name: `${x}.w3.weight`, shape: [F, D] });
    }
  }
  specs.push({ name: 'model.norm.weight', shape: [D] });
  if (!c.tie_word_embeddings) specs.push({ name: 'lm_head.weight', shape: [c.vocab_size, D] });
  return specs;
}

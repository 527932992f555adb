// The tensor tables of the families beside Mixtral (OLMoE, Qwen2-MoE, Qwen3-MoE, Granite-MoE),
// with their exact Hugging Face names: the rows every family shares with Mixtral, plus what the
// family and this config add (biases, q/k norms, shared expert, dense layers, fused experts).
// docs/families.md, "Hub tensor names", is the source.
//
// Letters: V vocab, D hidden, F routed expert width, E experts, H query heads, Hkv key/value heads,
// Dh head_dim, Fs shared expert width, Fd dense MLP width.
import type { MixtralConfig } from '../config.ts';
import type { FamilyTensorTemplate } from './tensor-specs.ts';

const L = 'model.layers.{l}.';
const ATTN = `${L}self_attn.`;

/** The table of a non-Mixtral config, in checkpoint order. */
export function familyTensorTable(c: MixtralConfig): FamilyTensorTemplate[] {
  const f = c.family;
  const rows: FamilyTensorTemplate[] = [
    { scope: 'model', field: 'embed_tokens', name: 'model.embed_tokens.weight', dims: ['V', 'D'] },
    { scope: 'layer', field: 'input_layernorm', name: `${L}input_layernorm.weight`, dims: ['D'], f32: true },
    { scope: 'layer', field: 'q_proj', name: `${ATTN}q_proj.weight`, dims: ['H*Dh', 'D'] },
    { scope: 'layer', field: 'k_proj', name: `${ATTN}k_proj.weight`, dims: ['Hkv*Dh', 'D'] },
    { scope: 'layer', field: 'v_proj', name: `${ATTN}v_proj.weight`, dims: ['Hkv*Dh', 'D'] },
    { scope: 'layer', field: 'o_proj', name: `${ATTN}o_proj.weight`, dims: ['D', 'H*Dh'] },
  ];
  if (f.qkv_bias) {
    rows.push(
      { scope: 'layer', field: 'q_proj_bias', name: `${ATTN}q_proj.bias`, dims: ['H*Dh'] },
      { scope: 'layer', field: 'k_proj_bias', name: `${ATTN}k_proj.bias`, dims: ['Hkv*Dh'] },
      { scope: 'layer', field: 'v_proj_bias', name: `${ATTN}v_proj.bias`, dims: ['Hkv*Dh'] },
    );
  }
  if (f.o_bias) rows.push({ scope: 'layer', field: 'o_proj_bias', name: `${ATTN}o_proj.bias`, dims: ['D'] });
  if (f.qk_norm !== 'none') {
    const whole = f.qk_norm === 'projection';
    rows.push(
      { scope: 'layer', field: 'q_norm', name: `${ATTN}q_norm.weight`, dims: [whole ? 'H*Dh' : 'Dh'], f32: true },
      { scope: 'layer', field: 'k_norm', name: `${ATTN}k_norm.weight`, dims: [whole ? 'Hkv*Dh' : 'Dh'], f32: true },
    );
  }
  rows.push({ scope: 'layer', field: 'post_attention_layernorm', name: `${L}post_attention_layernorm.weight`, dims: ['D'], f32: true });

  if (c.model_type === 'granitemoe') {
    // Granite's experts are stored fused, one 3-D tensor for gate and up, one for down.
    const moe = `${L}block_sparse_moe.`;
    rows.push(
      { scope: 'layer', field: 'gate', name: `${moe}router.layer.weight`, dims: ['E', 'D'], f32: true, when: 'sparse' },
      { scope: 'layer', field: 'experts_input_linear', name: `${moe}input_linear.weight`, dims: ['E', '2F', 'D'], when: 'sparse' },
      { scope: 'layer', field: 'experts_output_linear', name: `${moe}output_linear.weight`, dims: ['E', 'D', 'F'], when: 'sparse' },
    );
  } else {
    const mlp = `${L}mlp.`;
    rows.push({ scope: 'layer', field: 'gate', name: `${mlp}gate.weight`, dims: ['E', 'D'], f32: true, when: 'sparse' });
    if (f.shared_expert_intermediate_size !== null) {
      rows.push(
        { scope: 'layer', field: 'shared_gate_proj', name: `${mlp}shared_expert.gate_proj.weight`, dims: ['Fs', 'D'], when: 'sparse' },
        { scope: 'layer', field: 'shared_up_proj', name: `${mlp}shared_expert.up_proj.weight`, dims: ['Fs', 'D'], when: 'sparse' },
        { scope: 'layer', field: 'shared_down_proj', name: `${mlp}shared_expert.down_proj.weight`, dims: ['D', 'Fs'], when: 'sparse' },
        { scope: 'layer', field: 'shared_expert_gate', name: `${mlp}shared_expert_gate.weight`, dims: ['1', 'D'], f32: true, when: 'sparse' },
      );
    }
    if (f.dense_intermediate_size !== null) {
      rows.push(
        { scope: 'layer', field: 'mlp_gate_proj', name: `${mlp}gate_proj.weight`, dims: ['Fd', 'D'], when: 'dense' },
        { scope: 'layer', field: 'mlp_up_proj', name: `${mlp}up_proj.weight`, dims: ['Fd', 'D'], when: 'dense' },
        { scope: 'layer', field: 'mlp_down_proj', name: `${mlp}down_proj.weight`, dims: ['D', 'Fd'], when: 'dense' },
      );
    }
    rows.push(
      { scope: 'expert', field: 'w1', name: `${mlp}experts.{e}.gate_proj.weight`, dims: ['F', 'D'] },
      { scope: 'expert', field: 'w3', name: `${mlp}experts.{e}.up_proj.weight`, dims: ['F', 'D'] },
      { scope: 'expert', field: 'w2', name: `${mlp}experts.{e}.down_proj.weight`, dims: ['D', 'F'] },
    );
  }
  rows.push(
    { scope: 'model', field: 'norm', name: 'model.norm.weight', dims: ['D'], f32: true },
    // Absent when tie_word_embeddings is set (granite-3.1-1b-a400m): the model then reads embed_tokens.
    { scope: 'model', field: 'lm_head', name: 'lm_head.weight', dims: ['V', 'D'] },
  );
  return rows;
}

// The WGSL text of every kernel, by name. The files live in shaders/ with their contracts in a
// header comment; `?raw` makes Vite (site) and Vitest (Node) inline them as strings.
import add from '../../shaders/add.wgsl?raw';
import argmax from '../../shaders/argmax.wgsl?raw';
import attention_apply from '../../shaders/attention_apply.wgsl?raw';
import attention_scores from '../../shaders/attention_scores.wgsl?raw';
import embed from '../../shaders/embed.wgsl?raw';
import moe_combine from '../../shaders/moe_combine.wgsl?raw';
import moe_down from '../../shaders/moe_down.wgsl?raw';
import moe_down_grouped from '../../shaders/moe_down_grouped.wgsl?raw';
import moe_gate_up from '../../shaders/moe_gate_up.wgsl?raw';
import moe_gate_up_grouped from '../../shaders/moe_gate_up_grouped.wgsl?raw';
import moe_group from '../../shaders/moe_group.wgsl?raw';
import router from '../../shaders/router.wgsl?raw';
import softmax_rows from '../../shaders/softmax_rows.wgsl?raw';
import softmax_rows_subgroup from '../../shaders/softmax_rows_subgroup.wgsl?raw';
import matmul_f16 from '../../shaders/matmul_f16.wgsl?raw';
import matmul_f32 from '../../shaders/matmul_f32.wgsl?raw';
import matmul_subgroup from '../../shaders/matmul_subgroup.wgsl?raw';
import moe_down_subgroup from '../../shaders/moe_down_subgroup.wgsl?raw';
import moe_down_grouped_subgroup from '../../shaders/moe_down_grouped_subgroup.wgsl?raw';
import moe_gate_up_subgroup from '../../shaders/moe_gate_up_subgroup.wgsl?raw';
import moe_gate_up_grouped_subgroup from '../../shaders/moe_gate_up_grouped_subgroup.wgsl?raw';
import rmsnorm from '../../shaders/rmsnorm.wgsl?raw';
import rmsnorm_subgroup from '../../shaders/rmsnorm_subgroup.wgsl?raw';
import rope from '../../shaders/rope.wgsl?raw';

export const WGSL = {
  add, argmax, attention_apply, attention_scores, embed, matmul_f16, matmul_f32, matmul_subgroup, moe_combine, moe_down, moe_down_grouped,
  moe_down_subgroup, moe_down_grouped_subgroup, moe_gate_up, moe_gate_up_grouped, moe_gate_up_subgroup, moe_gate_up_grouped_subgroup, moe_group,
  rmsnorm, rmsnorm_subgroup, rope, router, softmax_rows, softmax_rows_subgroup,
} as const;

export type ShaderName = keyof typeof WGSL;

// The WGSL text of every kernel, by name. The files live in shaders/ with their contracts in a
// header comment; `?raw` makes Vite (site) and Vitest (Node) inline them as strings. WGSL has no
// includes: the helpers shared by several kernels (shaders/lib/) are prepended here; lib/weights.wgsl
// (q8/q4 reads) goes to every kernel that reads a big weight matrix.
import add from '../../shaders/add.wgsl?raw';
import attention from '../../shaders/attention.wgsl?raw';
import attention_apply from '../../shaders/attention_apply.wgsl?raw';
import attention_merge from '../../shaders/attention_merge.wgsl?raw';
import attention_subgroup from '../../shaders/attention_subgroup.wgsl?raw';
import embed from '../../shaders/embed.wgsl?raw';
import linear from '../../shaders/linear.wgsl?raw';
import linear_subgroup from '../../shaders/linear_subgroup.wgsl?raw';
import moe_combine from '../../shaders/moe_combine.wgsl?raw';
import moe_down from '../../shaders/moe_down.wgsl?raw';
import moe_down_grouped from '../../shaders/moe_down_grouped.wgsl?raw';
import moe_down_grouped_subgroup from '../../shaders/moe_down_grouped_subgroup.wgsl?raw';
import moe_down_subgroup from '../../shaders/moe_down_subgroup.wgsl?raw';
import moe_gate_up from '../../shaders/moe_gate_up.wgsl?raw';
import moe_gate_up_grouped from '../../shaders/moe_gate_up_grouped.wgsl?raw';
import moe_gate_up_grouped_subgroup from '../../shaders/moe_gate_up_grouped_subgroup.wgsl?raw';
import moe_gate_up_subgroup from '../../shaders/moe_gate_up_subgroup.wgsl?raw';
import moe_group from '../../shaders/moe_group.wgsl?raw';
import qk_norm from '../../shaders/qk_norm.wgsl?raw';
import qkv from '../../shaders/qkv.wgsl?raw';
import qkv_subgroup from '../../shaders/qkv_subgroup.wgsl?raw';
import rmsnorm from '../../shaders/rmsnorm.wgsl?raw';
import router from '../../shaders/router.wgsl?raw';
import router_subgroup from '../../shaders/router_subgroup.wgsl?raw';
import sample from '../../shaders/sample.wgsl?raw';
import shared_gate from '../../shaders/shared_gate.wgsl?raw';
import stream_read from '../../shaders/stream_read.wgsl?raw';
import kv from '../../shaders/lib/kv.wgsl?raw';
import route from '../../shaders/lib/route.wgsl?raw';
import sincos from '../../shaders/lib/sincos.wgsl?raw';
import weights from '../../shaders/lib/weights.wgsl?raw';

/** `enable` directives must come first: a helper goes after them. */
function withHelper(source: string, helper: string): string {
  const lines = source.split('\n');
  const at = lines.findLastIndex((l) => l.startsWith('enable ') || l.startsWith('diagnostic('));
  return [...lines.slice(0, at + 1), helper, ...lines.slice(at + 1)].join('\n');
}

export const WGSL = {
  add, attention: withHelper(attention, kv), attention_apply: withHelper(attention_apply, kv), attention_merge,
  attention_subgroup: withHelper(attention_subgroup, kv), embed: withHelper(embed, weights), linear: withHelper(linear, weights),
  linear_subgroup: withHelper(linear_subgroup, weights), moe_combine, moe_down: withHelper(moe_down, weights),
  moe_down_grouped: withHelper(moe_down_grouped, weights), moe_down_grouped_subgroup: withHelper(moe_down_grouped_subgroup, weights),
  moe_down_subgroup: withHelper(moe_down_subgroup, weights), moe_gate_up: withHelper(moe_gate_up, weights),
  moe_gate_up_grouped: withHelper(moe_gate_up_grouped, weights), moe_gate_up_grouped_subgroup: withHelper(moe_gate_up_grouped_subgroup, weights),
  moe_gate_up_subgroup: withHelper(moe_gate_up_subgroup, weights), moe_group, qk_norm: withHelper(qk_norm, sincos),
  qkv: withHelper(withHelper(qkv, sincos), weights), qkv_subgroup: withHelper(withHelper(qkv_subgroup, sincos), weights), router: withHelper(router, route),
  router_subgroup: withHelper(router_subgroup, route), rmsnorm, sample, shared_gate, stream_read,
} as const;

export type ShaderName = keyof typeof WGSL;

// The residual add, when a fused kernel's input was replaced after it ran: out[i] = a[i] + b[i]
// for i < n (the residual stream after attention, from hook_resid_pre and a replaced
// hook_attn_out; or after the MoE block, from hook_resid_mid and a replaced hook_mlp_out).
// One invocation per element. Twin: addInPlace in engine/cpu/ops.ts.
// Bindings: params {n}, a (n), b (n), out (n) out.
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  out[i] = a[i] + b[i];
}

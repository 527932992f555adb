// RMSNorm of T rows: out[t, i] = g[i] * (x[t, i] * 1 / sqrt(mean(x[t]^2) + eps)). Only where no
// kernel can fold it in: a dense layer's post_attention_layernorm (Qwen's mlp_only_layers and
// decoder_sparse_step), whose MLP reads it several times; a sparse layer's router writes it instead.
// One workgroup per row, a workgroup reduction (WG a power of two).
// Twin: rmsnorm in engine/cpu/ops.ts.
// Bindings: params, x (T, D), g (D), out (T, D) out.
struct Params { T: u32, D: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = wid.x + wid.y * nwg.x;
  if (t >= p.T) { return; } // uniform across the workgroup
  let o = t * p.D;
  var ss = 0.0;
  for (var i = lid.x; i < p.D; i += WG) { ss += x[o + i] * x[o + i]; }
  red[lid.x] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid.x < s) { red[lid.x] += red[lid.x + s]; }
    workgroupBarrier();
  }
  let scale = 1.0 / sqrt(red[0] / f32(p.D) + p.eps);
  for (var i = lid.x; i < p.D; i += WG) { out[o + i] = g[i] * (x[o + i] * scale); }
}

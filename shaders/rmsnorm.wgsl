// RMSNorm of each row: out[t, i] = w[i] * (x[t, i] * scale_t), scale_t = 1 / sqrt(mean_i(x[t, i]^2) + eps).
// One workgroup per row t < T; its WG invocations sum squares over strided columns, then reduce in
// workgroup memory (WG must be a power of two). Twin: rmsnorm in engine/cpu/ops.ts.
// Bindings: params {T, D, eps}, x (T, D), w (D), out (T, D).
struct Params { T: u32, D: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = wid.x + wid.y * nwg.x;
  if (t >= p.T) { return; } // uniform across the workgroup, so the barriers below stay uniform
  let o = t * p.D;
  var ss = 0.0;
  for (var i = lid.x; i < p.D; i += WG) { ss += x[o + i] * x[o + i]; }
  partial[lid.x] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid.x < s) { partial[lid.x] += partial[lid.x + s]; }
    workgroupBarrier();
  }
  let scale = 1.0 / sqrt(partial[0] / f32(p.D) + p.eps);
  for (var i = lid.x; i < p.D; i += WG) { out[o + i] = w[i] * (x[o + i] * scale); }
}

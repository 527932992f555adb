// The experts' weighted sum: out[t, d] = sum_k weights[t, k] * expertOut[t*K + k, d], k in order
// (as the CPU twin adds them), so the result is the same whatever order the experts ran in.
// Bindings: params, weights (T, K) f32, expertOut (T*K, D) f32, out (T, D) f32 out.
struct Params { T: u32, K: u32, D: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> expertOut: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.T * p.D) { return; }
  let t = i / p.D;
  let d = i % p.D;
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) {
    let slot = t * p.K + k;
    acc += weights[slot] * expertOut[slot * p.D + d];
  }
  out[i] = acc;
}

// First half of a SwiGLU expert, for each (token, slot) routed pair: only chosen experts run.
// h[t*K + k, f] = silu(w1[e] x_t . ) * (w3[e] x_t) with e = idx[t*K + k] read on the GPU.
// Bindings: params, x (T, D) f32, idx (T, K) u32, w1 (E, F, D) and w3 (E, F, D) as packed f16
// pairs (F16, D even) or f32 bits, h (T*K, F) f32 out. One invocation per output element.
struct Params { T: u32, K: u32, D: u32, F: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read> w1: array<u32>;
@group(0) @binding(4) var<storage, read> w3: array<u32>;
@group(0) @binding(5) var<storage, read_write> h: array<f32>;

override WG: u32 = 64;
override F16: bool = true;

// Weights j*2 and j*2+1 of a matrix, from packed halves or from f32 bits.
fn pair1(j: u32) -> vec2f {
  if (F16) { return unpack2x16float(w1[j]); }
  return vec2f(bitcast<f32>(w1[2u * j]), bitcast<f32>(w1[2u * j + 1u]));
}
fn pair3(j: u32) -> vec2f {
  if (F16) { return unpack2x16float(w3[j]); }
  return vec2f(bitcast<f32>(w3[2u * j]), bitcast<f32>(w3[2u * j + 1u]));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.T * p.K * p.F) { return; }
  let f = i % p.F;
  let slot = i / p.F;
  let t = slot / p.K;
  let e = idx[slot];
  let row = ((e * p.F + f) * p.D) / 2u;
  let xo = t * p.D;
  var g = 0.0;
  var u = 0.0;
  for (var d = 0u; d < p.D / 2u; d++) {
    let xv = vec2f(x[xo + 2u * d], x[xo + 2u * d + 1u]);
    g += dot(pair1(row + d), xv);
    u += dot(pair3(row + d), xv);
  }
  h[i] = g / (1.0 + exp(-g)) * u;
}

// First half of a SwiGLU expert, for each (token, slot) routed pair: only chosen experts run.
// h[t*K + k, f] = silu(w1[e, f, :] . x_t) * (w3[e, f, :] . x_t) with e = idx[t*K + k], read on
// the GPU (no CPU round trip). One workgroup per output (slot, f): its WG invocations walk the
// weight rows in strides (adjacent invocations read adjacent words), then reduce in workgroup
// memory. Twin: the expert loop in engine/cpu/forward.ts.
// Bindings: params, x (T, D) f32, idx (T, K) u32, w1 (E, F, D) and w3 (E, F, D) as packed f16
// pairs (F16, D even), f32 bits or
// q8/q4 weights (QUANT) as lib/weights.wgsl reads them (D % 32 == 0), h (T*K, F) f32 out.
struct Params { T: u32, K: u32, D: u32, F: u32, scaleAt: u32, minAt: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> idx: array<u32>;
@group(0) @binding(3) var<storage, read> w1: array<u32>;
@group(0) @binding(4) var<storage, read> w3: array<u32>;
@group(0) @binding(5) var<storage, read_write> h: array<f32>;

override WG: u32 = 64;
override F16: bool = true;
var<workgroup> gs: array<f32, WG>;
var<workgroup> us: array<f32, WG>;

fn weightWord(m: u32, i: u32) -> u32 {
  if (m == 0u) { return w1[i]; }
  return w3[i];
}

// Weights 2j and 2j+1 of a matrix, from packed halves, f32 bits or q8/q4 (w1 and w3 have the same layout).
fn pair1(j: u32) -> vec2f {
  if (QUANT != 0u) { return quantPair(0u, j, vec2u(p.scaleAt, p.minAt)); }
  if (F16) { return unpack2x16float(w1[j]); }
  return vec2f(bitcast<f32>(w1[2u * j]), bitcast<f32>(w1[2u * j + 1u]));
}
fn pair3(j: u32) -> vec2f {
  if (QUANT != 0u) { return quantPair(1u, j, vec2u(p.scaleAt, p.minAt)); }
  if (F16) { return unpack2x16float(w3[j]); }
  return vec2f(bitcast<f32>(w3[2u * j]), bitcast<f32>(w3[2u * j + 1u]));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = wid.x + wid.y * nwg.x; // the output element slot * F + f
  if (o >= p.T * p.K * p.F) { return; }
  let f = o % p.F;
  let slot = o / p.F;
  let t = slot / p.K;
  let e = idx[slot];
  let row = ((e * p.F + f) * p.D) / 2u;
  let xo = t * p.D;
  var g = 0.0;
  var u = 0.0;
  for (var j = lid.x; j < p.D / 2u; j += WG) {
    let xv = vec2f(x[xo + 2u * j], x[xo + 2u * j + 1u]);
    g += dot(pair1(row + j), xv);
    u += dot(pair3(row + j), xv);
  }
  gs[lid.x] = g;
  us[lid.x] = u;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid.x < s) { gs[lid.x] += gs[lid.x + s]; us[lid.x] += us[lid.x + s]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    let gg = gs[0];
    h[o] = gg / (1.0 + exp(-gg)) * us[0];
  }
}

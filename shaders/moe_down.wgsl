// Second half of the experts and their weighted sum: for each token t and output d,
// expertOut[t*K + k, d] = w2[e_k] h[t*K + k] and out[t, d] = sum_k weights[t, k] * expertOut[t*K + k, d].
// Bindings: params, h (T*K, F), idx (T, K) u32, weights (T, K), w2 (E, D, F) as packed f16 pairs
// (F16, F even) or f32 bits, expertOut (T*K, D) out (kept for the hook), out (T, D) out.
struct Params { T: u32, K: u32, D: u32, F: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read> w2: array<u32>;
@group(0) @binding(5) var<storage, read_write> expertOut: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;
override F16: bool = true;

fn pair2(j: u32) -> vec2f {
  if (F16) { return unpack2x16float(w2[j]); }
  return vec2f(bitcast<f32>(w2[2u * j]), bitcast<f32>(w2[2u * j + 1u]));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.T * p.D) { return; }
  let d = i % p.D;
  let t = i / p.D;
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) {
    let slot = t * p.K + k;
    let row = ((idx[slot] * p.D + d) * p.F) / 2u;
    let ho = slot * p.F;
    var y = 0.0;
    for (var f = 0u; f < p.F / 2u; f++) {
      y += dot(pair2(row + f), vec2f(h[ho + 2u * f], h[ho + 2u * f + 1u]));
    }
    expertOut[slot * p.D + d] = y;
    acc += weights[slot] * y;
  }
  out[i] = acc;
}

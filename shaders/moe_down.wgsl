// Second half of the experts, their weighted sum and the residual add after the MoE block: for
// each token t and output d, expertOut[t*K + k, d] = w2[e_k, d, :] . h[t*K + k],
// mlpOut[t, d] = sum_k weights[t, k] * expertOut (k in order, as the CPU twin adds them) and
// out[t, d] = res[t, d] + mlpOut[t, d] (the residual stream leaving the layer).
// One workgroup per output (t, d), strided reads and a workgroup reduction per chosen expert.
// mlpOut is multiplied by `scale` (Granite's residual_multiplier; 1 elsewhere) before the add.
// Twin: the expert loop of engine/cpu/forward.ts and addInPlace (moeTwin in engine/webgpu/twins.ts).
// Bindings: params, h (T*K, F), choice (indices (T, K), then weights (T, K) as f32 bits),
// w2 (E, D, F) as packed f16 pairs (F16, F even), f32 bits or
// q8/q4 weights (QUANT) as lib/weights.wgsl reads them (F % 32 == 0), res (T, D), expertOut (T*K, D)
// out (the hook), mlpOut (T, D) out (the hook), out (T, D) out.
struct Params { T: u32, K: u32, D: u32, F: u32, scale: f32, scaleAt: u32, minAt: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read_write> choice: array<u32>;
@group(0) @binding(3) var<storage, read> w2: array<u32>;
@group(0) @binding(4) var<storage, read_write> res: array<f32>;
@group(0) @binding(5) var<storage, read_write> expertOut: array<f32>;
@group(0) @binding(6) var<storage, read_write> mlpOut: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;
override F16: bool = true;
var<workgroup> ys: array<f32, WG>;

fn weightWord(m: u32, i: u32) -> u32 { return w2[i]; }

// Weights 2j and 2j+1, from packed halves, f32 bits or q8/q4 (lib/weights.wgsl).
fn pair2(j: u32) -> vec2f {
  if (QUANT != 0u) { return quantPair(0u, j, vec2u(p.scaleAt, p.minAt)); }
  if (F16) { return unpack2x16float(w2[j]); }
  return vec2f(bitcast<f32>(w2[2u * j]), bitcast<f32>(w2[2u * j + 1u]));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = wid.x + wid.y * nwg.x; // the output element t * D + d
  if (o >= p.T * p.D) { return; }
  let d = o % p.D;
  let t = o / p.D;
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) {
    let slot = t * p.K + k;
    let row = ((choice[slot] * p.D + d) * p.F) / 2u;
    let ho = slot * p.F;
    var y = 0.0;
    for (var j = lid.x; j < p.F / 2u; j += WG) {
      y += dot(pair2(row + j), vec2f(h[ho + 2u * j], h[ho + 2u * j + 1u]));
    }
    ys[lid.x] = y;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      if (lid.x < s) { ys[lid.x] += ys[lid.x + s]; }
      workgroupBarrier();
    }
    if (lid.x == 0u) { expertOut[slot * p.D + d] = ys[0]; }
    acc += bitcast<f32>(choice[p.T * p.K + slot]) * ys[0];
    workgroupBarrier(); // everyone has read ys[0] before the next expert overwrites it
  }
  if (lid.x == 0u) {
    mlpOut[o] = acc * p.scale;
    out[o] = res[o] + acc * p.scale;
  }
}

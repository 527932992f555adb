// Second half of the chosen experts, their weighted sum and the residual add after the MoE block,
// on adapters with `subgroups` (decode): expertOut[t*K + k, d] = w2[e_k, d, :] . h[t*K + k],
// mlpOut[t, d] = sum_k weights[t, k] * expertOut[t*K + k, d] (k in order, as the CPU twin adds
// them) and out[t, d] = res[t, d] + mlpOut[t, d] (the residual stream leaving the layer).
// A subgroup computes one (t, d): for each k its lanes walk the weight row in strides of 16-byte
// words and reduce with subgroupAdd (see linear_subgroup.wgsl). F16 weights are packed halves
// (F % 8 == 0), F32 weights f32 bits (F % 4 == 0),
// q8/q4 weights (QUANT) as lib/weights.wgsl reads them (F16 true: 8 per word; F % 32 == 0). Workgroup g = wid.x + wid.y * nwg.x covers RPW
// outputs of block g % rowBlocks for token g / rowBlocks.
// mlpOut is multiplied by `scale` (Granite's residual_multiplier; 1 elsewhere) before the add.
// Twin: the expert loop of engine/cpu/forward.ts and addInPlace (moeTwin in engine/webgpu/twins.ts).
// Bindings: params, h (T*K, F) f32, choice (indices (T, K), then weights (T, K) as f32 bits),
// w2 (E, D, F) words, res (T, D), expertOut (T*K, D) out (the hook), mlpOut (T, D) out (the
// hook), out (T, D) out.
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params { T: u32, K: u32, D: u32, F: u32, rowBlocks: u32, scale: f32, scaleAt: u32, minAt: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> h: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> choice: array<u32>;
@group(0) @binding(3) var<storage, read> w2: array<vec4u>;
@group(0) @binding(4) var<storage, read_write> res: array<f32>;
@group(0) @binding(5) var<storage, read_write> expertOut: array<f32>;
@group(0) @binding(6) var<storage, read_write> mlpOut: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;

override WG: u32 = 128;
override RPW: u32 = 32;
override F16: bool = true;

fn weightWord(m: u32, i: u32) -> u32 { return w2[i / 4u][i % 4u]; }

// w . h over word i of w2 at h[ho ..]: 4 f32, 8 halves, or 8 q8/q4 weights (the f16 layout's word i).
fn dotWord(i: u32, ho: u32) -> f32 {
  if (QUANT != 0u) {
    let v = quant8(0u, i, vec2u(p.scaleAt, p.minAt));
    return dot(v[0], h[ho]) + dot(v[1], h[ho + 1u]);
  }
  let q = w2[i];
  if (F16) {
    return dot(vec4f(unpack2x16float(q.x), unpack2x16float(q.y)), h[ho]) + dot(vec4f(unpack2x16float(q.z), unpack2x16float(q.w)), h[ho + 1u]);
  }
  return dot(bitcast<vec4f>(q), h[ho]);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) lanes: u32) {
  let g = wid.x + wid.y * nwg.x;
  let t = g / p.rowBlocks;
  if (t >= p.T) { return; }
  let per = select(4u, 8u, F16);
  let words = p.F / per;
  for (var r = li / lanes; r < RPW; r += WG / lanes) {
    let d = (g % p.rowBlocks) * RPW + r;
    if (d >= p.D) { break; }
    var acc = 0.0;
    for (var k = 0u; k < p.K; k++) {
      let slot = t * p.K + k;
      let row = (choice[slot] * p.D + d) * words;
      let ho = slot * (p.F / 4u);
      var y = 0.0;
      for (var j = lane; j < words; j += lanes) { y += dotWord(row + j, ho + j * (per / 4u)); }
      let ys = subgroupAdd(y);
      if (lane == 0u) { expertOut[slot * p.D + d] = ys; }
      acc += bitcast<f32>(choice[p.T * p.K + slot]) * ys;
    }
    if (lane == 0u) {
      mlpOut[t * p.D + d] = acc * p.scale;
      out[t * p.D + d] = res[t * p.D + d] + acc * p.scale;
    }
  }
}

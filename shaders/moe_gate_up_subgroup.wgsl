// First half of a SwiGLU expert for each routed (token, slot) pair, on adapters with `subgroups`
// (decode: only the chosen experts run, their ids read from idx on the GPU).
// h[slot, f] = silu(w1[e, f, :] . x_t) * (w3[e, f, :] . x_t), e = idx[slot], t = slot / K.
// A subgroup computes one (slot, f): its lanes walk both weight rows in strides of 16-byte words
// and reduce with subgroupAdd, no workgroup barriers (see linear_subgroup.wgsl for the layout of
// subgroups in a workgroup). F16 weights are packed halves (D % 8 == 0), F32 weights f32 bits
// (D % 4 == 0), q8/q4 weights (QUANT) as lib/weights.wgsl reads them (F16 true: 8 per word; D % 32 == 0). Workgroup g = wid.x + wid.y * nwg.x covers RPW features of block g % rowBlocks
// for slot g / rowBlocks. Twin: the expert loop in engine/cpu/forward.ts.
// Bindings: params, x (T, D) f32, idx (T, K) u32, w1 and w3 (E, F, D) words, h (T*K, F) f32 out.
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params { slots: u32, K: u32, D: u32, F: u32, rowBlocks: u32, scaleAt: u32, minAt: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> idx: array<u32>;
@group(0) @binding(3) var<storage, read> w1: array<vec4u>;
@group(0) @binding(4) var<storage, read> w3: array<vec4u>;
@group(0) @binding(5) var<storage, read_write> h: array<f32>;

override WG: u32 = 128;
override RPW: u32 = 32;
override F16: bool = true;

// Word i of matrix m (0 w1, 1 w3): a branch, not a select, which would load both.
fn word13(m: u32, i: u32) -> vec4u {
  if (m == 0u) { return w1[i]; }
  return w3[i];
}
fn weightWord(m: u32, i: u32) -> u32 { return word13(m, i / 4u)[i % 4u]; }

// w . x over word i of matrix m (0 w1, 1 w3) at x[xo ..]: 4 f32, 8 halves, or 8 q8/q4 weights
// (the f16 layout's word i; w1 and w3 have the same layout).
fn dotWord(m: u32, i: u32, xo: u32) -> f32 {
  if (QUANT != 0u) {
    let v = quant8(m, i, vec2u(p.scaleAt, p.minAt));
    return dot(v[0], x[xo]) + dot(v[1], x[xo + 1u]);
  }
  let q = word13(m, i);
  if (F16) {
    return dot(vec4f(unpack2x16float(q.x), unpack2x16float(q.y)), x[xo]) + dot(vec4f(unpack2x16float(q.z), unpack2x16float(q.w)), x[xo + 1u]);
  }
  return dot(bitcast<vec4f>(q), x[xo]);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) lanes: u32) {
  let g = wid.x + wid.y * nwg.x;
  let slot = g / p.rowBlocks;
  if (slot >= p.slots) { return; }
  let e = idx[slot];
  let per = select(4u, 8u, F16);
  let words = p.D / per;
  let xo = (slot / p.K) * (p.D / 4u);
  for (var r = li / lanes; r < RPW; r += WG / lanes) {
    let f = (g % p.rowBlocks) * RPW + r;
    if (f >= p.F) { break; }
    let row = (e * p.F + f) * words;
    var gate = 0.0;
    var up = 0.0;
    for (var j = lane; j < words; j += lanes) {
      let at = xo + j * (per / 4u);
      gate += dotWord(0u, row + j, at);
      up += dotWord(1u, row + j, at);
    }
    let gs = subgroupAdd(gate);
    let us = subgroupAdd(up);
    if (lane == 0u) { h[slot * p.F + f] = gs / (1.0 + exp(-gs)) * us; }
  }
}

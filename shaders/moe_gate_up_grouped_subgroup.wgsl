// First half of the experts for many tokens at once (prefill), on tokens grouped by expert
// (moe_group.wgsl), on adapters with `subgroups`: for expert e, a block of up to TB of its slots
// and a feature f, h[slot, f] = silu(w1[e, f, :] . x_t) * (w3[e, f, :] . x_t), t = slot / K.
// A subgroup computes one feature for the whole block: its lanes walk both weight rows in
// strides of 16-byte words, each word read once and used for all TB tokens (a matrix-matrix
// product per expert), then TB subgroupAdd reductions; no workgroup barriers (see
// linear_subgroup.wgsl for the layout of subgroups in a workgroup). F16 weights are packed
// halves (D % 8 == 0), F32 weights f32 bits (D % 4 == 0), q8/q4 weights (QUANT) as
// lib/weights.wgsl reads them (F16 true: 8 per word; D % 32 == 0).
// Workgroup g = wid.x + wid.y * nwg.x: feature block g % rowBlocks, then token block, then the
// expert within this weight buffer (experts e0 .. e0 + experts - 1: a tensor split under the
// binding limit runs one dispatch per part); a block past its expert's count returns at once.
// Bindings: params, x (T, D) f32, offsets (E+1) u32, order (T*K) u32, w1 and w3 (experts, F, D)
// words, h (T*K, F) f32 out.
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params { K: u32, D: u32, F: u32, tiles: u32, e0: u32, experts: u32, rowBlocks: u32, scaleAt: u32, minAt: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read> w1: array<vec4u>;
@group(0) @binding(5) var<storage, read> w3: array<vec4u>;
@group(0) @binding(6) var<storage, read_write> h: array<f32>;

override WG: u32 = 128;
override RPW: u32 = 32;
override TB: u32 = 8;
override F16: bool = true;
const MAX_TB = 8u;

// Word i of matrix m (0 w1, 1 w3): a branch, not a select, which would load both.
fn word13(m: u32, i: u32) -> vec4u {
  if (m == 0u) { return w1[i]; }
  return w3[i];
}
fn weightWord(m: u32, i: u32) -> u32 { return word13(m, i / 4u)[i % 4u]; }

// Word i of matrix m (0 w1, 1 w3) as 8 weights: packed halves or q8/q4 (the f16 layout's word i).
fn wide(m: u32, i: u32) -> array<vec4f, 2> {
  if (QUANT != 0u) { return quant8(m, i, vec2u(p.scaleAt, p.minAt)); }
  let q = word13(m, i);
  return array<vec4f, 2>(vec4f(unpack2x16float(q.x), unpack2x16float(q.y)), vec4f(unpack2x16float(q.z), unpack2x16float(q.w)));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) lanes: u32) {
  let g = wid.x + wid.y * nwg.x;
  let rest = g / p.rowBlocks;
  let el = rest / p.tiles;
  if (el >= p.experts) { return; }
  let e = p.e0 + el;
  let start = offsets[e];
  let count = offsets[e + 1u] - start;
  let first = (rest % p.tiles) * TB;
  if (first >= count) { return; }
  let nt = min(TB, count - first);
  // The block's slots and x rows; slots past nt repeat the last (a fixed trip count keeps the
  // sums in registers) and are not written.
  var slots: array<u32, MAX_TB>;
  var xo: array<u32, MAX_TB>;
  for (var b = 0u; b < TB; b++) {
    slots[b] = order[start + first + min(b, nt - 1u)];
    xo[b] = (slots[b] / p.K) * (p.D / 4u);
  }
  let words = p.D / select(4u, 8u, F16);
  for (var r = li / lanes; r < RPW; r += WG / lanes) {
    let f = (g % p.rowBlocks) * RPW + r;
    if (f >= p.F) { break; }
    let row = (el * p.F + f) * words;
    var gate: array<f32, MAX_TB>;
    var up: array<f32, MAX_TB>;
    for (var j = lane; j < words; j += lanes) {
      if (F16) {
        let a = wide(0u, row + j);
        let c = wide(1u, row + j);
        let a0 = a[0];
        let a1 = a[1];
        let b0 = c[0];
        let b1 = c[1];
        for (var b = 0u; b < TB; b++) {
          let x0 = x[xo[b] + 2u * j];
          let x1 = x[xo[b] + 2u * j + 1u];
          gate[b] += dot(a0, x0) + dot(a1, x1);
          up[b] += dot(b0, x0) + dot(b1, x1);
        }
      } else {
        let a = bitcast<vec4f>(w1[row + j]);
        let c = bitcast<vec4f>(w3[row + j]);
        for (var b = 0u; b < TB; b++) {
          let xv = x[xo[b] + j];
          gate[b] += dot(a, xv);
          up[b] += dot(c, xv);
        }
      }
    }
    for (var b = 0u; b < TB; b++) {
      let gs = subgroupAdd(gate[b]);
      let us = subgroupAdd(up[b]);
      if (lane == 0u && b < nt) { h[slots[b] * p.F + f] = gs / (1.0 + exp(-gs)) * us; }
    }
  }
}

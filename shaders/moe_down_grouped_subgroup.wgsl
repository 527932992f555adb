// Second half of the experts for many tokens at once (prefill), on tokens grouped by expert, on
// adapters with `subgroups`: for expert e, a block of up to TB of its slots and an output d,
// expertOut[slot, d] = w2[e, d, :] . h[slot, :]. As moe_gate_up_grouped_subgroup.wgsl: a subgroup
// reads each weight word once for the whole block and reduces with subgroupAdd. Each (slot, d)
// is written by exactly one lane; moe_combine.wgsl then sums the slots in order, so the result
// does not depend on scheduling. F16 weights are packed halves (F % 8 == 0), F32 weights f32
// bits (F % 4 == 0), q8/q4 weights (QUANT, F16 true) as lib/weights.wgsl reads them (F % 32 == 0).
// Workgroup g = wid.x + wid.y * nwg.x: output block g % rowBlocks, then token block, then the
// expert within this weight buffer (experts e0 .. e0 + experts - 1).
// Bindings: params, h (T*K, F) f32, offsets (E+1) u32, order (T*K) u32, w2 (experts, D, F) words,
// expertOut (T*K, D) f32 out.
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params { D: u32, F: u32, tiles: u32, e0: u32, experts: u32, rowBlocks: u32, scaleAt: u32, minAt: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> h: array<vec4f>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read> w2: array<vec4u>;
@group(0) @binding(5) var<storage, read_write> expertOut: array<f32>;

override WG: u32 = 128;
override RPW: u32 = 32;
override TB: u32 = 8;
override F16: bool = true;
const MAX_TB = 8u;

fn weightWord(m: u32, i: u32) -> u32 { return w2[i / 4u][i % 4u]; }

// Word i of w2 as 8 weights: packed halves or q8/q4 (the f16 layout's word i).
fn wide(i: u32) -> array<vec4f, 2> {
  if (QUANT != 0u) { return quant8(0u, i, vec2u(p.scaleAt, p.minAt)); }
  let q = w2[i];
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
  var slots: array<u32, MAX_TB>;
  var ho: array<u32, MAX_TB>;
  for (var b = 0u; b < TB; b++) {
    slots[b] = order[start + first + min(b, nt - 1u)];
    ho[b] = slots[b] * (p.F / 4u);
  }
  let words = p.F / select(4u, 8u, F16);
  for (var r = li / lanes; r < RPW; r += WG / lanes) {
    let d = (g % p.rowBlocks) * RPW + r;
    if (d >= p.D) { break; }
    let row = (el * p.D + d) * words;
    var y: array<f32, MAX_TB>;
    for (var j = lane; j < words; j += lanes) {
      if (F16) {
        let a = wide(row + j);
        let a0 = a[0];
        let a1 = a[1];
        for (var b = 0u; b < TB; b++) { y[b] += dot(a0, h[ho[b] + 2u * j]) + dot(a1, h[ho[b] + 2u * j + 1u]); }
      } else {
        let a = bitcast<vec4f>(w2[row + j]);
        for (var b = 0u; b < TB; b++) { y[b] += dot(a, h[ho[b] + j]); }
      }
    }
    for (var b = 0u; b < TB; b++) {
      let s = subgroupAdd(y[b]);
      if (lane == 0u && b < nt) { expertOut[slots[b] * p.D + d] = s; }
    }
  }
}

// Attention over the KV cache on adapters with `subgroups` (flash-decoding): the contract of
// attention.wgsl (query rows, their window, splits, the online softmax, z or partials, the
// pattern when asked for), with a subgroup per (row, split) instead of a workgroup: its lanes
// hold the row's q and its running acc in slices of the head (element d on lane d % lanes), and
// walk the positions one at a time: s_j = subgroupAdd(q . k_j over the lane's slice) * scale,
// then the running max, sum and acc are updated. No workgroup barriers; reads of k_j and v_j are
// contiguous across the lanes. The pattern's entries are written, then normalised, by lane 0.
// Workgroup g = wid.x + wid.y * nwg.x covers RPW (row, split) jobs (at most 4, so that a decode
// step's few jobs spread over workgroups: kernels.ts, attentionJobsPerWorkgroup). Twin: the attention loop of engine/cpu/forward.ts (attentionTwin in engine/webgpu/twins.ts).
// Bindings: as attention.wgsl.
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params { T: u32, H: u32, Hkv: u32, Dh: u32, window: u32, scale: f32, vOffset: u32, patternSlot: u32 }
struct Step { pos0: u32, S: u32, splits: u32, draw: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(3) var<storage, read> kv: array<u32>;
@group(0) @binding(4) var<storage, read> headScale: array<f32>;
@group(0) @binding(5) var<storage, read_write> pattern: array<f32>;
@group(0) @binding(6) var<storage, read_write> z: array<f32>;
@group(0) @binding(7) var<storage, read_write> partials: array<f32>;

override WG: u32 = 128;
override RPW: u32 = 32;
override F16KV: bool = false;
const NEG = -3.4028234663852886e38;
const NONE = 0xffffffffu;
const PER = 64u; // head elements per lane: Dh <= 64 lanes' worth (256 on 4-lane subgroups)

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) lanes: u32) {
  let gi = wid.x + wid.y * nwg.x;
  for (var r = li / lanes; r < RPW; r += WG / lanes) {
    let job = gi * RPW + r; // row * splits + split
    let split = job % step.splits;
    let row = job / step.splits; // t * H + h
    if (row >= p.T * p.H) { break; }
    let h = row % p.H;
    let t = row / p.H;
    let kvh = h / (p.H / p.Hkv);
    let pos = step.pos0 + t;
    let lo = select(0u, pos + 1u - p.window, pos + 1u > p.window);
    let per = (pos + 1u - lo + step.splits - 1u) / step.splits;
    let a = min(pos + 1u, lo + split * per);
    let end = min(pos + 1u, a + per);
    let writePattern = p.patternSlot != NONE;
    let pbase = (p.patternSlot * p.H * p.T + h * p.T + t) * step.S;
    let n = (p.Dh + lanes - 1u) / lanes; // this lane's head elements: d = lane + c * lanes
    var q: array<f32, PER>;
    for (var c = 0u; c < n; c++) {
      let d = lane + c * lanes;
      if (d < p.Dh) { q[c] = qkv[row * p.Dh + d]; }
    }
    var m = NEG;
    var l = 0.0;
    var acc: array<f32, PER>;
    for (var j = a; j < end; j++) {
      var part = 0.0;
      for (var c = 0u; c < n; c++) {
        let d = lane + c * lanes;
        if (d < p.Dh) { part += q[c] * cached(0u, j, kvh, d); }
      }
      let s = subgroupAdd(part) * p.scale;
      if (writePattern && lane == 0u) { pattern[pbase + j] = s; }
      let mNew = max(m, s);
      let f = select(exp(m - mNew), 0.0, m == NEG);
      let e = exp(s - mNew);
      l = l * f + e;
      for (var c = 0u; c < n; c++) {
        let d = lane + c * lanes;
        if (d < p.Dh) { acc[c] = acc[c] * f + e * cached(p.vOffset, j, kvh, d); }
      }
      m = mNew;
    }
    if (step.splits > 1u) {
      let o = job * (p.Dh + 2u);
      if (lane == 0u) { partials[o] = m; partials[o + 1u] = l; }
      for (var c = 0u; c < n; c++) {
        let d = lane + c * lanes;
        if (d < p.Dh) { partials[o + 2u + d] = acc[c]; }
      }
      continue;
    }
    let inv = select(1.0 / l, 0.0, l == 0.0);
    for (var c = 0u; c < n; c++) {
      let d = lane + c * lanes;
      if (d < p.Dh) { z[row * p.Dh + d] = acc[c] * inv * headScale[h]; }
    }
    if (!writePattern) { continue; }
    if (lane == 0u) {
      for (var j = a; j < end; j++) { pattern[pbase + j] = exp(pattern[pbase + j] - m) * inv; }
    }
    for (var j = lane; j < step.S; j += lanes) {
      if (j < lo || j > pos) { pattern[pbase + j] = 0.0; }
    }
  }
}

// RMSNorm of each row, on adapters with `subgroups`: out[t, i] = w[i] * (x[t, i] * scale_t),
// scale_t = 1 / sqrt(mean_i(x[t, i]^2) + eps). A subgroup takes a row: its lanes sum squares over
// strided columns and combine with subgroupAdd, no workgroup barriers (see matmul_subgroup.wgsl
// for the layout of subgroups in a workgroup, RPW rows each). Twin: rmsnorm in engine/cpu/ops.ts.
// Bindings: params {T, D, eps, rowBlocks}, x (T, D), w (D), out (T, D).
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params { T: u32, D: u32, eps: f32, rowBlocks: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 128;
override RPW: u32 = 32;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) lanes: u32) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= p.rowBlocks) { return; }
  for (var s = li / lanes; s < RPW; s += WG / lanes) {
    let t = g * RPW + s;
    if (t >= p.T) { break; }
    let o = t * p.D;
    var ss = 0.0;
    for (var i = lane; i < p.D; i += lanes) { ss += x[o + i] * x[o + i]; }
    let scale = 1.0 / sqrt(subgroupAdd(ss) / f32(p.D) + p.eps);
    for (var i = lane; i < p.D; i += lanes) { out[o + i] = w[i] * (x[o + i] * scale); }
  }
}

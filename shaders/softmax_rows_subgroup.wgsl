// Softmax of each row in place, on adapters with `subgroups`: x[r, :] over n columns, for
// r < rows. Entries at the most negative float (masked) come out as exactly 0. A subgroup takes
// a row: its lanes walk the row in strides and combine with subgroupMax and subgroupAdd, so
// there are no workgroup barriers (see matmul_subgroup.wgsl for the layout of subgroups in a
// workgroup, RPW rows each). The same sums as softmax_rows.wgsl in another order.
// Bindings: params {rows, n, rowBlocks}, x (rows, n) in/out.
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params { rows: u32, n: u32, rowBlocks: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

override WG: u32 = 128;
override RPW: u32 = 32;
const NEG_INF = -3.4028234663852886e38;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) lanes: u32) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= p.rowBlocks) { return; }
  for (var s = li / lanes; s < RPW; s += WG / lanes) {
    let r = g * RPW + s;
    if (r >= p.rows) { break; }
    let o = r * p.n;
    var m = NEG_INF;
    for (var j = lane; j < p.n; j += lanes) { m = max(m, x[o + j]); }
    m = subgroupMax(m);
    var sum = 0.0;
    for (var j = lane; j < p.n; j += lanes) {
      let v = x[o + j];
      let e = select(exp(v - m), 0.0, v <= NEG_INF);
      x[o + j] = e;
      sum += e;
    }
    let total = subgroupAdd(sum);
    for (var j = lane; j < p.n; j += lanes) { x[o + j] = x[o + j] / total; }
  }
}

// Softmax of each row in place: x[r, :] over n columns, for r < rows. Entries at the most
// negative float (masked) come out as exactly 0. One workgroup per row, reducing in shared memory.
// Bindings: params, x (rows, n) in/out.
struct Params { rows: u32, n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

override WG: u32 = 64;
const NEG_INF = -3.4028234663852886e38;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= p.rows) { return; }
  let o = r * p.n;
  var m = NEG_INF;
  for (var j = lid.x; j < p.n; j += WG) { m = max(m, x[o + j]); }
  red[lid.x] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid.x < s) { red[lid.x] = max(red[lid.x], red[lid.x + s]); }
    workgroupBarrier();
  }
  m = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var j = lid.x; j < p.n; j += WG) {
    let v = x[o + j];
    let e = select(exp(v - m), 0.0, v <= NEG_INF);
    x[o + j] = e;
    sum += e;
  }
  red[lid.x] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid.x < s) { red[lid.x] += red[lid.x + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  for (var j = lid.x; j < p.n; j += WG) { x[o + j] = x[o + j] / total; }
}

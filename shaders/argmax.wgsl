// Greedy decoding on the GPU: out[0] = index of the largest of x[0..n) (ties to the lower index).
// Bindings: params, x (n) f32, out (1) u32. One workgroup.
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

override WG: u32 = 256;
var<workgroup> bestV: array<f32, WG>;
var<workgroup> bestI: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u) {
  var v = -3.4028234663852886e38;
  var i = 0xffffffffu;
  for (var j = lid.x; j < p.n; j += WG) {
    if (x[j] > v) { v = x[j]; i = j; }
  }
  bestV[lid.x] = v;
  bestI[lid.x] = i;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid.x < s) {
      let ov = bestV[lid.x + s];
      let oi = bestI[lid.x + s];
      if (ov > bestV[lid.x] || (ov == bestV[lid.x] && oi < bestI[lid.x])) { bestV[lid.x] = ov; bestI[lid.x] = oi; }
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) { out[0] = bestI[0]; }
}

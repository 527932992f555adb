// out (T, N) = x (T, In) @ W (N, In)^T, an nn.Linear without bias with f32 weights.
// One workgroup per output (t, n): its WG invocations walk the row of W in strides (adjacent
// invocations read adjacent floats), then reduce in workgroup memory (WG a power of two).
// Twin: matmul in engine/cpu/ops.ts.
// out may be wider than N (row stride ldo, first column col0): a weight split into row parts
// under the binding limit writes each part's columns of the same output.
// Bindings: params {T, In, N, ldo, col0}, x (T, In), w (N, In), out (T, N).
struct Params { T: u32, In: u32, N: u32, ldo: u32, col0: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = wid.x + wid.y * nwg.x; // the output element t * N + n
  if (o >= p.T * p.N) { return; }
  let t = o / p.N;
  let n = o % p.N;
  let xo = t * p.In;
  let wo = n * p.In;
  var acc = 0.0;
  for (var i = lid.x; i < p.In; i += WG) { acc += x[xo + i] * w[wo + i]; }
  partial[lid.x] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid.x < s) { partial[lid.x] += partial[lid.x + s]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { out[t * p.ldo + p.col0 + n] = partial[0]; }
}

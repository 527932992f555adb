// The SwiGLU gate, in place: g[i] = silu(g[i]) * u[i] with silu(v) = v / (1 + exp(-v)), i < n.
// One invocation per element. Twin: silu in engine/cpu/ops.ts, as the CPU expert applies it.
// Bindings: params {n}, u (n), g (n) in/out.
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> u: array<f32>;
@group(0) @binding(2) var<storage, read_write> g: array<f32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let v = g[i];
  g[i] = v / (1.0 + exp(-v)) * u[i];
}

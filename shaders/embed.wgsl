// Embedding lookup: x[t, :] = embed[ids[t], :] for t < T.
// Bindings: params, ids (T) u32, embed (V, D) as packed f16 pairs (D even), x (T, D) f32 out.
// One invocation per output element.
struct Params { T: u32, D: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> embed: array<u32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.T * p.D) { return; }
  let t = i / p.D;
  let d = i % p.D;
  let pair = unpack2x16float(embed[(ids[t] * p.D + d) / 2u]);
  x[i] = select(pair.x, pair.y, (d & 1u) == 1u);
}

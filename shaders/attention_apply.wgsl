// Weighted sum of values: z[t, h, :] = sum_j att[h, t, j] * v[j, h / (H / Hkv), :].
// A head whose headScale is 0 outputs zeros (the zero_head intervention).
// Bindings: params, att (H, T, S), vcache (S, Hkv, Dh), headScale (H), z (T, H, Dh) out.
struct Params { T: u32, S: u32, H: u32, Hkv: u32, Dh: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> att: array<f32>;
@group(0) @binding(2) var<storage, read> vcache: array<f32>;
@group(0) @binding(3) var<storage, read> headScale: array<f32>;
@group(0) @binding(4) var<storage, read_write> z: array<f32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.T * p.H * p.Dh) { return; }
  let d = i % p.Dh;
  let h = (i / p.Dh) % p.H;
  let t = i / (p.Dh * p.H);
  let kvh = h / (p.H / p.Hkv);
  let ao = (h * p.T + t) * p.S;
  var s = 0.0;
  for (var j = 0u; j < p.S; j++) {
    let a = att[ao + j];
    if (a != 0.0) { s += a * vcache[(j * p.Hkv + kvh) * p.Dh + d]; }
  }
  z[i] = s * headScale[h];
}

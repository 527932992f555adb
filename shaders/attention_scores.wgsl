// Attention scores over the KV cache, grouped-query, causal with an optional sliding window:
// att[h, t, j] = q[t, h, :] . k[j, h / (H / Hkv), :] / sqrt(Dh) where query t (absolute position
// pos0 + t) sees key j iff 0 <= pos0 + t - j < window; -inf elsewhere (softmax turns it into 0).
// Bindings: params, q (T, H, Dh), kcache (S, Hkv, Dh), att (H, T, S) out.
struct Params { T: u32, S: u32, H: u32, Hkv: u32, Dh: u32, pos0: u32, window: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> kcache: array<f32>;
@group(0) @binding(3) var<storage, read_write> att: array<f32>;

override WG: u32 = 64;
const NEG_INF = -3.4028234663852886e38;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.H * p.T * p.S) { return; }
  let j = i % p.S;
  let t = (i / p.S) % p.T;
  let h = i / (p.S * p.T);
  let pos = p.pos0 + t;
  if (j > pos || pos - j >= p.window) { att[i] = NEG_INF; return; }
  let kvh = h / (p.H / p.Hkv);
  let qo = (t * p.H + h) * p.Dh;
  let ko = (j * p.Hkv + kvh) * p.Dh;
  var s = 0.0;
  for (var d = 0u; d < p.Dh; d++) { s += q[qo + d] * kcache[ko + d]; }
  att[i] = s * p.scale;
}

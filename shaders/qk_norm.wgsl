// The q/k norms of the families that have them, and what follows them up to the attention: RMSNorm
// of q and k before the rotary embedding (over each token's whole projection: OLMoE; over each
// head's Dh: Qwen3-MoE), OLMoE's clamp of q, k and v to ±clip, then rope of q and k at positions
// pos0 + t and the append of k and v to the KV cache. The projections come from qkv*.wgsl run
// with rope 0 (biases added, nothing rotated, no cache written): this kernel is the rest of it.
//   stage 0: normed = clamp(RMSNorm(raw) * g) from qkv; qkv (q, k) = rope(normed); v clamped;
//            k and v to the cache. normed holds the hooks q_normed (T, H, Dh), then k_normed (T, Hkv, Dh).
//   stage 1: from normed as a function hook left it: rope and the append of k only (v is unchanged).
// One workgroup per job: per token, q's norm groups (H heads, or one projection), then k's (Hkv,
// or one), then v. Its WG invocations sum the squares of the group and reduce them in workgroup
// memory (WG a power of two); each then scales, rotates and writes pairs (i, i + Dh/2) of a head,
// the pairs rope mixes, so no invocation reads what another wrote. The cache layout is qkv*.wgsl's.
// Twins: rmsnorm and rope in engine/cpu/ops.ts (qkNormTwin in engine/webgpu/twins.ts).
// Bindings: params (invFreq first), step {pos0}, qkv (T, H + 2 Hkv, Dh) in/out, gq (H*Dh or Dh),
// gk (Hkv*Dh or Dh), normed (T, H + Hkv, Dh) in/out, kv cache out.
struct Params { invFreq: array<vec4f, 64>, T: u32, H: u32, Hkv: u32, Dh: u32, perHead: u32, stage: u32, vOffset: u32, eps: f32, clip: f32 }
struct Step { pos0: u32, S: u32, splits: u32, draw: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(3) var<storage, read> gq: array<f32>;
@group(0) @binding(4) var<storage, read> gk: array<f32>;
@group(0) @binding(5) var<storage, read_write> normed: array<f32>;
@group(0) @binding(6) var<storage, read_write> kv: array<u32>;

override WG: u32 = 64;
override F16KV: bool = false;
var<workgroup> red: array<f32, WG>;

// Element i (and i + Dh/2) of head `head` of matrix m (1 k, 2 v) for token t, into the cache.
fn append(m: u32, t: u32, head: u32, i: u32, a: f32, b: f32) {
  let half = p.Dh / 2u;
  let row = (step.pos0 + t) * p.Hkv + head;
  let v0 = (m - 1u) * p.vOffset;
  if (F16KV) {
    kv[v0 + row * half + i] = pack2x16float(vec2f(a, b));
  } else {
    kv[v0 + row * p.Dh + i] = bitcast<u32>(a);
    kv[v0 + row * p.Dh + i + half] = bitcast<u32>(b);
  }
}

fn clip(v: f32) -> f32 {
  if (p.clip > 0.0) { return clamp(v, -p.clip, p.clip); }
  return v;
}

fn weight(m: u32, i: u32) -> f32 {
  if (m == 0u) { return gq[i]; }
  return gk[i];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let qGroups = select(1u, p.H, p.perHead != 0u);
  let kGroups = select(1u, p.Hkv, p.perHead != 0u);
  let jobs = qGroups + kGroups + 1u;
  let job = wid.x + wid.y * nwg.x;
  if (job >= p.T * jobs) { return; } // uniform across the workgroup
  let t = job / jobs;
  let j = job % jobs;
  let half = p.Dh / 2u;

  if (j == qGroups + kGroups) {
    // v: the clamp, and the append to the cache (stage 1 leaves both as they are).
    if (p.stage != 0u) { return; }
    let base = p.T * (p.H + p.Hkv) * p.Dh + t * p.Hkv * p.Dh;
    for (var e = lid.x; e < p.Hkv * half; e += WG) {
      let head = e / half;
      let i = e % half;
      let a = base + head * p.Dh + i;
      let va = clip(qkv[a]);
      let vb = clip(qkv[a + half]);
      qkv[a] = va;
      qkv[a + half] = vb;
      append(2u, t, head, i, va, vb);
    }
    return;
  }

  let m = select(1u, 0u, j < qGroups); // 0 q, 1 k
  let heads = select(p.Hkv, p.H, m == 0u);
  let g = select(j - qGroups, j, m == 0u);
  let h0 = select(0u, g, p.perHead != 0u);
  let nh = select(heads, 1u, p.perHead != 0u);
  // q and k lie in qkv and in normed at the same offsets.
  let base = select(p.T * p.H * p.Dh + t * p.Hkv * p.Dh, t * p.H * p.Dh, m == 0u);
  let len = nh * p.Dh;
  var scale = 1.0;
  if (p.stage == 0u) {
    var ss = 0.0;
    for (var e = lid.x; e < len; e += WG) {
      let v = qkv[base + h0 * p.Dh + e];
      ss += v * v;
    }
    red[lid.x] = ss;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      if (lid.x < s) { red[lid.x] += red[lid.x + s]; }
      workgroupBarrier();
    }
    scale = 1.0 / sqrt(red[0] / f32(len) + p.eps);
    storageBarrier(); // every read of the raw projection is done before any pair is written over
  }
  for (var e = lid.x; e < nh * half; e += WG) {
    let head = h0 + e / half;
    let i = e % half;
    let a = head * p.Dh + i; // within this token's projection
    var va: f32;
    var vb: f32;
    if (p.stage == 0u) {
      // The norm's weight per element of the projection, or per element of a head.
      let wa = select(a, i, p.perHead != 0u);
      va = clip(weight(m, wa) * (qkv[base + a] * scale));
      vb = clip(weight(m, wa + half) * (qkv[base + a + half] * scale));
      normed[base + a] = va;
      normed[base + a + half] = vb;
    } else {
      va = normed[base + a];
      vb = normed[base + a + half];
    }
    let sc = sincos(f32(step.pos0 + t) * p.invFreq[i / 4u][i % 4u]);
    let ra = va * sc.y - vb * sc.x;
    let rb = vb * sc.y + va * sc.x;
    qkv[base + a] = ra;
    qkv[base + a + half] = rb;
    if (m == 1u) { append(1u, t, head, i, ra, rb); }
  }
}

// The attention's input, fused, on adapters with `subgroups`: RMSNorm (input_layernorm), the q,
// k and v projections, the rotary embedding of q and k at positions pos0 + t, and the append of
// k and v to the KV cache, in one dispatch:
//   xn = RMSNorm(x) * g;  q = rope(xn @ Wq^T);  k = rope(xn @ Wk^T);  v = xn @ Wv^T
// written to `qkv` (the hooks q (T, H, Dh), then k and v (T, Hkv, Dh)) and k, v also to the cache
// rows pos0 .. pos0 + T - 1. Rope rotates the pair (i, i + Dh/2) of a head, so the work is cut in
// pairs: a subgroup computes both rows of one pair (two dot products over the same xn, lanes
// walking 16-byte words as in linear_subgroup.wgsl), rotates them in registers and writes them.
// The pairs of q's heads come first, then k's, then v's (rotated by nobody). Each subgroup
// normalises its own tokens' rows (g * (x * scale), the CPU twin's order).
// The cache is (2, capacity, Hkv, Dh): keys, then values from word vOffset. With F16KV it holds
// packed halves, the pair (i, i + Dh/2) in one word (element i in the low half): the layout the
// attention kernels read; otherwise f32 bits.
// Workgroup g = wid.x + wid.y * nwg.x covers RPW pairs of block g % rowBlocks for token block
// g / rowBlocks (TB tokens, each weight read once per block). F16 weights: D % 8 == 0; F32: D % 4 == 0.
// Twins: rmsnorm, matmul and rope in engine/cpu/ops.ts (qkvTwin in engine/webgpu/twins.ts).
// Bindings: params (with the rotary frequencies invFreq, fround(1 / theta^(2i/Dh)) from the host),
// step {pos0}, x (T, D), g (D), wq (H*Dh, D), wk and wv (Hkv*Dh, D) words, qkv out, kv cache out.
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params { T: u32, D: u32, H: u32, Hkv: u32, Dh: u32, rowBlocks: u32, vOffset: u32, eps: f32, invFreq: array<vec4f, 64> }
struct Step { pos0: u32, S: u32, splits: u32, draw: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read_write> x: array<vec4f>;
@group(0) @binding(3) var<storage, read> g: array<vec4f>;
@group(0) @binding(4) var<storage, read> wq: array<vec4u>;
@group(0) @binding(5) var<storage, read> wk: array<vec4u>;
@group(0) @binding(6) var<storage, read> wv: array<vec4u>;
@group(0) @binding(7) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(8) var<storage, read_write> kv: array<u32>;

override WG: u32 = 128;
override RPW: u32 = 32;
override TB: u32 = 1;
override F16: bool = true;
override F16KV: bool = false;
const MAX_TB = 8u;

// Word k of matrix m (0 q, 1 k, 2 v): m is the same across a subgroup.
fn word(m: u32, k: u32) -> vec4u {
  if (m == 0u) { return wq[k]; }
  if (m == 1u) { return wk[k]; }
  return wv[k];
}

// w . xn over one 16-byte word of weights at xn word xo (4 floats).
fn dotWord(q: vec4u, t: u32, xo: u32, scale: f32) -> f32 {
  let row = t * (p.D / 4u);
  if (F16) {
    let a = vec4f(unpack2x16float(q.x), unpack2x16float(q.y));
    let b = vec4f(unpack2x16float(q.z), unpack2x16float(q.w));
    return dot(a, g[xo] * (x[row + xo] * scale)) + dot(b, g[xo + 1u] * (x[row + xo + 1u] * scale));
  }
  return dot(bitcast<vec4f>(q), g[xo] * (x[row + xo] * scale));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) lanes: u32) {
  let gi = wid.x + wid.y * nwg.x;
  let t0 = (gi / p.rowBlocks) * TB;
  if (t0 >= p.T) { return; }
  let last = p.T - 1u;
  let half = p.Dh / 2u;
  let nq = p.H * half;
  let nk = p.Hkv * half;
  let per = select(4u, 8u, F16);
  let words = p.D / per;
  let xw = p.D / 4u;
  var scale: array<f32, MAX_TB>;
  for (var b = 0u; b < TB; b++) {
    let xo = min(t0 + b, last) * xw;
    var ss = 0.0;
    for (var i = lane; i < xw; i += lanes) { let v = x[xo + i]; ss += dot(v, v); }
    scale[b] = 1.0 / sqrt(subgroupAdd(ss) / f32(p.D) + p.eps);
  }
  for (var r = li / lanes; r < RPW; r += WG / lanes) {
    let pair = (gi % p.rowBlocks) * RPW + r;
    if (pair >= nq + 2u * nk) { break; }
    let m = select(select(2u, 1u, pair < nq + nk), 0u, pair < nq);
    let local = pair - select(select(nq + nk, nq, m == 1u), 0u, m == 0u);
    let head = local / half;
    let i = local % half;
    let ra = (head * p.Dh + i) * words;
    let rb = ra + half * words;
    var a: array<f32, MAX_TB>;
    var b2: array<f32, MAX_TB>;
    for (var j = lane; j < words; j += lanes) {
      let qa = word(m, ra + j);
      let qb = word(m, rb + j);
      for (var b = 0u; b < TB; b++) {
        let t = min(t0 + b, last);
        a[b] += dotWord(qa, t, j * (per / 4u), scale[b]);
        b2[b] += dotWord(qb, t, j * (per / 4u), scale[b]);
      }
    }
    for (var b = 0u; b < TB; b++) {
      var va = subgroupAdd(a[b]);
      var vb = subgroupAdd(b2[b]);
      let t = t0 + b;
      if (lane != 0u || t >= p.T) { continue; }
      if (m < 2u) {
        let f = p.invFreq[i / 4u][i % 4u];
        let sc = sincos(f32(step.pos0 + t) * f);
        let ra2 = va * sc.y - vb * sc.x;
        vb = vb * sc.y + va * sc.x;
        va = ra2;
      }
      let heads = select(p.Hkv, p.H, m == 0u);
      let base = select(p.T * p.H * p.Dh + (m - 1u) * p.T * p.Hkv * p.Dh, 0u, m == 0u);
      let o = base + (t * heads + head) * p.Dh + i;
      qkv[o] = va;
      qkv[o + half] = vb;
      if (m > 0u) {
        let row = (step.pos0 + t) * p.Hkv + head;
        let v0 = (m - 1u) * p.vOffset;
        if (F16KV) {
          kv[v0 + row * half + i] = pack2x16float(vec2f(va, vb));
        } else {
          kv[v0 + row * p.Dh + i] = bitcast<u32>(va);
          kv[v0 + row * p.Dh + i + half] = bitcast<u32>(vb);
        }
      }
    }
  }
}

// The attention's input, fused, on adapters with `subgroups`: RMSNorm (input_layernorm), the q,
// k and v projections, the rotary embedding of q and k at positions pos0 + t, and the append of
// k and v to the KV cache, in one dispatch:
//   xn = RMSNorm(x) * g;  q = rope(xn @ Wq^T);  k = rope(xn @ Wk^T);  v = xn @ Wv^T
// written to `qkv` (the hooks q (T, H, Dh), then k and v (T, Hkv, Dh)) and k, v also to the cache
// rows pos0 .. pos0 + T - 1. Rope rotates the pair (i, i + Dh/2) of a head, so the work is cut in
// pairs: a subgroup computes both rows of one pair (two dot products of x with the rows times g,
// lanes walking 16-byte words as in linear_subgroup.wgsl; the same walk sums the squares of x, and the products
// are scaled by the norm's 1 / sqrt(mean(x^2) + eps) at the end), rotates them in registers and
// writes them. The pairs of q's heads come first, then k's, then v's (rotated by nobody).
// The cache is (2, capacity, Hkv, Dh): keys, then values from word vOffset. With F16KV it holds
// packed halves, the pair (i, i + Dh/2) in one word (element i in the low half): the layout the
// attention kernels read; otherwise f32 bits.
// A subgroup takes R pairs at once, loading each word of x once for them. Workgroup
// g = wid.x + wid.y * nwg.x covers RPW pairs (R x WG / the smallest subgroup size) of block
// g % rowBlocks for token block g / rowBlocks (TB tokens, each weight read once per block).
// F16 weights: D % 8 == 0; F32: D % 4 == 0; q8/q4 (QUANT, with F16 true: 8 per step): D % 32 == 0.
// Twins: rmsnorm, matmul and rope in engine/cpu/ops.ts (qkvTwin in engine/webgpu/twins.ts).
// The families' differences, as params: `hasBias` adds the q, k, v biases (qwen2_moe, or
// attention_bias) to the products; `rope` 0 (families with q/k norms, which come before the
// rotation: qk_norm.wgsl rotates and appends) writes the projections as they are and leaves the cache.
// Bindings: params (with the rotary frequencies invFreq, fround(1 / theta^(2i/Dh)) from the host),
// step {pos0}, x (T, D), g (D), wq (H*Dh, D), wk and wv (Hkv*Dh, D) words, qkv out, kv cache out,
// bias ((H + 2 Hkv) Dh) f32: q's, then k's, then v's.
enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params { T: u32, D: u32, H: u32, Hkv: u32, Dh: u32, rowBlocks: u32, vOffset: u32, eps: f32, invFreq: array<vec4f, 64>, hasBias: u32, rope: u32,
               qAt: u32, qMin: u32, kAt: u32, kMin: u32, vAt: u32, vMin: u32 }
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
@group(0) @binding(9) var<storage, read> bias: array<f32>;

override WG: u32 = 128;
override RPW: u32 = 32;
override TB: u32 = 1;
override R: u32 = 4;
override F16: bool = true;
override F16KV: bool = false;
const MAX_TB = 8u;
const MAX_R = 4u;

// Word k of matrix m (0 q, 1 k, 2 v): m is the same across a subgroup.
fn word(m: u32, k: u32) -> vec4u {
  if (m == 0u) { return wq[k]; }
  if (m == 1u) { return wk[k]; }
  return wv[k];
}

fn weightWord(m: u32, i: u32) -> u32 { return word(m, i / 4u)[i % 4u]; }

// Where matrix m's q8/q4 scales and minimums start (words; lib/weights.wgsl).
fn regions(m: u32) -> vec2u {
  if (m == 0u) { return vec2u(p.qAt, p.qMin); }
  if (m == 1u) { return vec2u(p.kAt, p.kMin); }
  return vec2u(p.vAt, p.vMin);
}

// Word k of matrix m as floats (4 or 8 of them; q8/q4: the 8 elements of the f16 layout's word k).
fn weightsAt(m: u32, k: u32) -> array<vec4f, 2> {
  if (QUANT != 0u) { return quant8(m, k, regions(m)); }
  return weights8(word(m, k));
}

// One 16-byte word of weights as floats (4 or 8 of them).
fn weights8(q: vec4u) -> array<vec4f, 2> {
  if (F16) { return array<vec4f, 2>(vec4f(unpack2x16float(q.x), unpack2x16float(q.y)), vec4f(unpack2x16float(q.z), unpack2x16float(q.w))); }
  return array<vec4f, 2>(bitcast<vec4f>(q), vec4f(0.0));
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
  let pairs = nq + 2u * nk;
  let per = select(4u, 8u, F16);
  let words = p.D / per;
  for (var rg = li / lanes; rg < RPW / R; rg += WG / lanes) {
    let pair0 = (gi % p.rowBlocks) * RPW + rg * R;
    if (pair0 >= pairs) { break; }
    // Both rows of each of the R pairs, and the squares of x (for the norm's scale), in one walk.
    var a: array<f32, 32>;  // [b * MAX_R + r]
    var b2: array<f32, 32>;
    var ss: array<f32, MAX_TB>;
    for (var j = lane; j < words; j += lanes) {
      let xo = j * (per / 4u);
      var x0: array<vec4f, MAX_TB>;
      var x1: array<vec4f, MAX_TB>;
      let g0 = g[xo];
      var g1 = vec4f(0.0);
      if (F16) { g1 = g[xo + 1u]; }
      for (var b = 0u; b < TB; b++) {
        let row = min(t0 + b, last) * (p.D / 4u) + xo;
        let xa = x[row];
        var xb = vec4f(0.0);
        if (F16) { xb = x[row + 1u]; }
        ss[b] += dot(xa, xa) + dot(xb, xb);
        x0[b] = xa * g0;
        x1[b] = xb * g1;
      }
      for (var r = 0u; r < R; r++) {
        let at = rowsOf(min(pair0 + r, pairs - 1u), nq, nk, half);
        let wa = weightsAt(at.x, at.y * words + j);
        let wb = weightsAt(at.x, at.z * words + j);
        for (var b = 0u; b < TB; b++) {
          a[b * MAX_R + r] += dot(wa[0], x0[b]) + dot(wa[1], x1[b]);
          b2[b * MAX_R + r] += dot(wb[0], x0[b]) + dot(wb[1], x1[b]);
        }
      }
    }
    for (var b = 0u; b < TB; b++) {
      let scale = 1.0 / sqrt(subgroupAdd(ss[b]) / f32(p.D) + p.eps);
      for (var r = 0u; r < R; r++) {
        let va = subgroupAdd(a[b * MAX_R + r]) * scale;
        let vb = subgroupAdd(b2[b * MAX_R + r]) * scale;
        let t = t0 + b;
        let pair = pair0 + r;
        if (lane == 0u && t < p.T && pair < pairs) { store(pair, t, va, vb, nq, nk, half); }
      }
    }
  }
}

// Which matrix a pair is in (x: 0 q, 1 k, 2 v) and its two rows there (y, z).
fn rowsOf(pair: u32, nq: u32, nk: u32, half: u32) -> vec3u {
  let m = select(select(2u, 1u, pair < nq + nk), 0u, pair < nq);
  let local = pair - select(select(nq + nk, nq, m == 1u), 0u, m == 0u);
  let ra = (local / half) * p.Dh + local % half;
  return vec3u(m, ra, ra + half);
}

// Rotate (q, k) and write a pair of token t: to qkv, and (k, v) to the cache.
fn store(pair: u32, t: u32, a: f32, b: f32, nq: u32, nk: u32, half: u32) {
  let m = select(select(2u, 1u, pair < nq + nk), 0u, pair < nq);
  let local = pair - select(select(nq + nk, nq, m == 1u), 0u, m == 0u);
  let head = local / half;
  let i = local % half;
  var va = a;
  var vb = b;
  if (p.hasBias != 0u) {
    let bo = select(select((p.H + p.Hkv) * p.Dh, p.H * p.Dh, m == 1u), 0u, m == 0u) + head * p.Dh + i;
    va += bias[bo];
    vb += bias[bo + half];
  }
  if (m < 2u && p.rope != 0u) {
    let sc = sincos(f32(step.pos0 + t) * p.invFreq[i / 4u][i % 4u]);
    let ra = va * sc.y - vb * sc.x;
    vb = vb * sc.y + va * sc.x;
    va = ra;
  }
  let heads = select(p.Hkv, p.H, m == 0u);
  let base = select(p.T * p.H * p.Dh + (m - 1u) * p.T * p.Hkv * p.Dh, 0u, m == 0u);
  let o = base + (t * heads + head) * p.Dh + i;
  qkv[o] = va;
  qkv[o + half] = vb;
  if (m > 0u && p.rope != 0u) {
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

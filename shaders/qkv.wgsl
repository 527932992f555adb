// The attention's input, fused, on every adapter (workgroup reductions): RMSNorm
// (input_layernorm), the q, k and v projections, the rotary embedding of q and k at positions
// pos0 + t, and the append of k and v to the KV cache, in one dispatch. The same contract as
// qkv_subgroup.wgsl (outputs, pair order, cache layout, F16KV), computed one workgroup per
// (token, pair): its WG invocations walk x once for both rows' dot products and the squares of x,
// reduced together in workgroup memory (WG a power of two); invocation 0 scales, rotates and
// writes. D even.
// Twins: rmsnorm, matmul and rope in engine/cpu/ops.ts (qkvTwin in engine/webgpu/twins.ts).
// The families' differences, as params (qkv_subgroup.wgsl says the same): `hasBias` adds the
// q, k, v biases; `rope` 0 (q/k norms come first: qk_norm.wgsl rotates and appends) writes the
// projections as they are and leaves the cache.
// Bindings: params (with invFreq), step {pos0}, x (T, D), g (D), wq (H*Dh, D), wk and wv
// (Hkv*Dh, D) as packed f16 pairs (F16), f32 bits or q8/q4 (lib/weights.wgsl, D % 32 == 0), qkv out, kv cache out, bias ((H + 2 Hkv) Dh) f32.
struct Params { T: u32, D: u32, H: u32, Hkv: u32, Dh: u32, pad: u32, vOffset: u32, eps: f32, invFreq: array<vec4f, 64>, hasBias: u32, rope: u32,
               qAt: u32, qMin: u32, kAt: u32, kMin: u32, vAt: u32, vMin: u32 }
struct Step { pos0: u32, S: u32, splits: u32, draw: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> wq: array<u32>;
@group(0) @binding(5) var<storage, read> wk: array<u32>;
@group(0) @binding(6) var<storage, read> wv: array<u32>;
@group(0) @binding(7) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(8) var<storage, read_write> kv: array<u32>;
@group(0) @binding(9) var<storage, read> bias: array<f32>;

override WG: u32 = 64;
override F16: bool = true;
override F16KV: bool = false;
var<workgroup> part: array<vec3f, WG>;

fn weightWord(m: u32, i: u32) -> u32 {
  if (m == 0u) { return wq[i]; }
  if (m == 1u) { return wk[i]; }
  return wv[i];
}

// Where matrix m's q8/q4 scales and minimums start (words; lib/weights.wgsl).
fn regions(m: u32) -> vec2u {
  if (m == 0u) { return vec2u(p.qAt, p.qMin); }
  if (m == 1u) { return vec2u(p.kAt, p.kMin); }
  return vec2u(p.vAt, p.vMin);
}

// Weights 2j and 2j + 1 of matrix m (0 q, 1 k, 2 v), the same across the workgroup.
fn pairOf(m: u32, j: u32) -> vec2f {
  if (QUANT != 0u) { return quantPair(m, j, regions(m)); }
  if (F16) {
    if (m == 0u) { return unpack2x16float(wq[j]); }
    if (m == 1u) { return unpack2x16float(wk[j]); }
    return unpack2x16float(wv[j]);
  }
  if (m == 0u) { return vec2f(bitcast<f32>(wq[2u * j]), bitcast<f32>(wq[2u * j + 1u])); }
  if (m == 1u) { return vec2f(bitcast<f32>(wk[2u * j]), bitcast<f32>(wk[2u * j + 1u])); }
  return vec2f(bitcast<f32>(wv[2u * j]), bitcast<f32>(wv[2u * j + 1u]));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let half = p.Dh / 2u;
  let nq = p.H * half;
  let nk = p.Hkv * half;
  let pairs = nq + 2u * nk;
  let job = wid.x + wid.y * nwg.x; // t * pairs + pair
  if (job >= p.T * pairs) { return; } // uniform across the workgroup
  let t = job / pairs;
  let pair = job % pairs;
  let m = select(select(2u, 1u, pair < nq + nk), 0u, pair < nq);
  let local = pair - select(select(nq + nk, nq, m == 1u), 0u, m == 0u);
  let head = local / half;
  let i = local % half;
  let xo = t * p.D;
  let wpairs = p.D / 2u;
  let ra = (head * p.Dh + i) * wpairs;
  let rb = ra + half * wpairs;
  // One walk: both rows' dot products with g * x and the squares of x, reduced together.
  var acc = vec3f(0.0);
  for (var j = lid.x; j < wpairs; j += WG) {
    let xv = vec2f(x[xo + 2u * j], x[xo + 2u * j + 1u]);
    let gx = vec2f(g[2u * j], g[2u * j + 1u]) * xv;
    acc += vec3f(dot(pairOf(m, ra + j), gx), dot(pairOf(m, rb + j), gx), dot(xv, xv));
  }
  part[lid.x] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid.x < s) { part[lid.x] += part[lid.x + s]; }
    workgroupBarrier();
  }
  if (lid.x != 0u) { return; }
  let scale = 1.0 / sqrt(part[0].z / f32(p.D) + p.eps);
  var va = part[0].x * scale;
  var vb = part[0].y * scale;
  if (p.hasBias != 0u) {
    let bo = select(select((p.H + p.Hkv) * p.Dh, p.H * p.Dh, m == 1u), 0u, m == 0u) + head * p.Dh + i;
    va += bias[bo];
    vb += bias[bo + half];
  }
  if (m < 2u && p.rope != 0u) {
    let sc = sincos(f32(step.pos0 + t) * p.invFreq[i / 4u][i % 4u]);
    let ra2 = va * sc.y - vb * sc.x;
    vb = vb * sc.y + va * sc.x;
    va = ra2;
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

// Attention over the KV cache, for decode and prefill alike (flash-decoding): each query row
// (token t, head h) attends to its positions j, pos - window < j <= pos (pos = pos0 + t; all of
// 0..pos without a sliding window), split into `splits` contiguous ranges, one workgroup each.
// A workgroup walks its range in chunks of WG positions: scores s_j = q . k_j / sqrt(Dh), then
// an online softmax (running max m and sum l, rescaling the running acc = sum_j exp(s_j - m) v_j
// when m grows). Only the positions in the window are read, so decode costs the same at any
// length past the window, and a long context without one runs as many workgroups in parallel.
// With one split the workgroup finishes the row itself: z = acc / l * headScale[h]; with several
// it writes (m, l, acc) to `partials` and attention_merge.wgsl combines them.
// The pattern (the hook, softmax over all S positions, 0 outside the window) is written only when
// asked (patternSlot is the index of this layer's (H, T, S) block in the pattern buffer, or
// 0xffffffff): raw scores first, then, once m and l are known, exp(s - m) / l, each entry by the
// invocation that wrote it (so no storage barrier is needed); by the merge when there are splits.
// GQA: head h reads key/value head h / (H / Hkv). Twin: the attention loop of engine/cpu/forward.ts
// (attentionTwin in engine/webgpu/twins.ts).
// Bindings: params, step {pos0, S, splits}, qkv (q first: (T, H, Dh)), kv cache (see lib/kv.wgsl),
// headScale (H: 1, or 0 for a zeroed head), pattern out, z (T, H, Dh) out,
// partials (T * H * splits, Dh + 2) out.
struct Params { T: u32, H: u32, Hkv: u32, Dh: u32, window: u32, scale: f32, vOffset: u32, patternSlot: u32 }
struct Step { pos0: u32, S: u32, splits: u32, draw: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(3) var<storage, read> kv: array<u32>;
@group(0) @binding(4) var<storage, read> headScale: array<f32>;
@group(0) @binding(5) var<storage, read_write> pattern: array<f32>;
@group(0) @binding(6) var<storage, read_write> z: array<f32>;
@group(0) @binding(7) var<storage, read_write> partials: array<f32>;

override WG: u32 = 64;
override F16KV: bool = false;
const NEG = -3.4028234663852886e38;
const NONE = 0xffffffffu;
const MAX_DH = 256u;
const PER = 4u; // head elements per invocation: Dh <= 4 WG (the host checks)
var<workgroup> qs: array<f32, MAX_DH>;
var<workgroup> es: array<f32, WG>; // this chunk's scores, then their exponentials

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let gi = wid.x + wid.y * nwg.x;
  let split = gi % step.splits;
  let row = gi / step.splits; // t * H + h
  if (row >= p.T * p.H) { return; } // uniform across the workgroup
  let h = row % p.H;
  let t = row / p.H;
  let kvh = h / (p.H / p.Hkv);
  let pos = step.pos0 + t;
  let lo = select(0u, pos + 1u - p.window, pos + 1u > p.window);
  let per = (pos + 1u - lo + step.splits - 1u) / step.splits;
  let a = min(pos + 1u, lo + split * per);
  let end = min(pos + 1u, a + per);
  let writePattern = p.patternSlot != NONE;
  let pbase = (p.patternSlot * p.H * p.T + h * p.T + t) * step.S;
  for (var d = lid.x; d < p.Dh; d += WG) { qs[d] = qkv[row * p.Dh + d]; }
  workgroupBarrier();

  var m = NEG;
  var l = 0.0;
  var acc: array<f32, PER>;
  for (var c0 = a; c0 < end; c0 += WG) {
    let j = c0 + lid.x;
    var s = NEG;
    if (j < end) {
      var dotv = 0.0;
      for (var d = 0u; d < p.Dh; d++) { dotv += qs[d] * cached(0u, j, kvh, d); }
      s = dotv * p.scale;
      if (writePattern) { pattern[pbase + j] = s; }
    }
    es[lid.x] = s;
    workgroupBarrier();
    var cm = m;
    for (var k = 0u; k < WG; k++) { cm = max(cm, es[k]); }
    workgroupBarrier(); // everyone has the chunk's max before es is overwritten
    es[lid.x] = select(0.0, exp(s - cm), j < end);
    let f = select(exp(m - cm), 0.0, m == NEG); // rescales what came before; nothing came before the first chunk
    workgroupBarrier();
    var cs = 0.0;
    for (var k = 0u; k < WG; k++) { cs += es[k]; }
    l = l * f + cs;
    let n = min(WG, end - c0);
    for (var c = 0u; c < PER; c++) {
      let d = lid.x + c * WG;
      if (d >= p.Dh) { break; }
      var sv = acc[c] * f;
      for (var k = 0u; k < n; k++) { sv += es[k] * cached(p.vOffset, c0 + k, kvh, d); }
      acc[c] = sv;
    }
    m = cm;
    workgroupBarrier(); // everyone is done with es before the next chunk
  }

  if (step.splits > 1u) {
    let o = gi * (p.Dh + 2u);
    if (lid.x == 0u) { partials[o] = m; partials[o + 1u] = l; }
    for (var c = 0u; c < PER; c++) {
      let d = lid.x + c * WG;
      if (d < p.Dh) { partials[o + 2u + d] = acc[c]; }
    }
    return;
  }
  let inv = select(1.0 / l, 0.0, l == 0.0);
  for (var c = 0u; c < PER; c++) {
    let d = lid.x + c * WG;
    if (d < p.Dh) { z[row * p.Dh + d] = acc[c] * inv * headScale[h]; }
  }
  if (!writePattern) { return; }
  for (var j = a + lid.x; j < end; j += WG) { pattern[pbase + j] = exp(pattern[pbase + j] - m) * inv; }
  for (var j = lid.x; j < step.S; j += WG) {
    if (j < lo || j > pos) { pattern[pbase + j] = 0.0; }
  }
}

// The merge of flash-decoding (see attention.wgsl): for each query row (token t, head h), the
// `splits` partial results (m_s, l_s, acc_s) of its ranges of positions become
//   M = max_s m_s,  L = sum_s l_s exp(m_s - M),  z = sum_s acc_s exp(m_s - M) / L * headScale[h],
// and, when the pattern is asked for, its raw scores become exp(s_j - M) / L (0 outside the
// window). One workgroup per row; splits is small (the host keeps it under 64).
// Twin: the attention loop of engine/cpu/forward.ts (attentionTwin in engine/webgpu/twins.ts).
// Bindings: params, step {pos0, S, splits}, partials (T * H * splits, Dh + 2), headScale (H),
// pattern in/out, z (T, H, Dh) out.
struct Params { T: u32, H: u32, Dh: u32, window: u32, patternSlot: u32 }
struct Step { pos0: u32, S: u32, splits: u32, draw: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> partials: array<f32>;
@group(0) @binding(3) var<storage, read> headScale: array<f32>;
@group(0) @binding(4) var<storage, read_write> pattern: array<f32>;
@group(0) @binding(5) var<storage, read_write> z: array<f32>;

override WG: u32 = 64;
const NONE = 0xffffffffu;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row = wid.x + wid.y * nwg.x; // t * H + h
  if (row >= p.T * p.H) { return; }
  let h = row % p.H;
  let t = row / p.H;
  let stride = p.Dh + 2u;
  let first = row * step.splits * stride;
  var M = -3.4028234663852886e38;
  for (var s = 0u; s < step.splits; s++) {
    if (partials[first + s * stride + 1u] > 0.0) { M = max(M, partials[first + s * stride]); }
  }
  var L = 0.0;
  for (var s = 0u; s < step.splits; s++) {
    let l = partials[first + s * stride + 1u];
    if (l > 0.0) { L += l * exp(partials[first + s * stride] - M); }
  }
  let inv = 1.0 / L;
  for (var d = lid.x; d < p.Dh; d += WG) {
    var acc = 0.0;
    for (var s = 0u; s < step.splits; s++) {
      let o = first + s * stride;
      if (partials[o + 1u] > 0.0) { acc += partials[o + 2u + d] * exp(partials[o] - M); }
    }
    z[row * p.Dh + d] = acc * inv * headScale[h];
  }
  if (p.patternSlot == NONE) { return; }
  let pos = step.pos0 + t;
  let lo = select(0u, pos + 1u - p.window, pos + 1u > p.window);
  let pbase = (p.patternSlot * p.H * p.T + h * p.T + t) * step.S;
  for (var j = lid.x; j < step.S; j += WG) {
    pattern[pbase + j] = select(0.0, exp(pattern[pbase + j] - M) * inv, j >= lo && j <= pos);
  }
}

// A linear layer with its neighbours fused in, on adapters with `subgroups`:
//   out (T, N) = [res +] xn (T, In) @ W (N, In)^T,   xn = RMSNorm(x) * g when NORM, else x.
// NORM folds the RMSNorm that precedes a projection into it (lm_head after the final norm): the
// subgroup that walks rows of W against g * x also sums the squares of x, and scales the dot
// products by 1 / sqrt(mean(x^2) + eps) at the end (the CPU twin scales x first: the two differ
// by rounding); with `writeXn` the subgroup of row 0 also writes xn = g * (x * scale), the final
// norm's hook. RESIDUAL is the epilogue of o_proj: y = x @ W^T (the
// hook_attn_out tensor) and out = res + y (the residual stream after attention), so the residual
// add costs no dispatch of its own.
// A subgroup computes R output rows for a block of TB tokens: its lanes walk the rows of W in
// strides of 16-byte words (adjacent lanes read adjacent words), load each word of x once for the
// R rows (and, with NORM, sum its squares once), keep TB x R partial sums and reduce them with
// subgroupAdd; no workgroup barriers. Each weight is read once per block of TB tokens: prefill
// (TB = 8) is a matrix-matrix product, decode (TB = 1) a matrix-vector one. F16 weights are packed
// halves (8 per word, In % 8 == 0), F32 weights f32 bits (4 per word, In % 4 == 0), q8/q4 weights
// (QUANT, F16 true: 8 per step, In % 32 == 0) as lib/weights.wgsl reads them; accumulation
// is f32. A workgroup holds WG / subgroup-size subgroups (consecutive ranges of
// local_invocation_index, as every WebGPU backend lays out a one-dimensional workgroup) and covers
// RPW rows (R x WG / the adapter's smallest subgroup size) in groups of R, each subgroup taking
// every (WG / subgroup size)-th group. Workgroup g = wid.x + wid.y * nwg.x is row block
// g % rowBlocks of token block g / rowBlocks. Row t reads x row xRow0 + t (the last row alone,
// for lm_head). out, res and y may be wider than N (row stride ldo, first column col0): a weight
// split into row parts under the binding limit writes each part's columns of the same output.
// The epilogue of the families' projections: with `hasBias` the product gets bias[n] (o_proj's
// bias, qwen2_moe and attention_bias), then is multiplied by `scale` (Granite's
// residual_multiplier on o_proj, 1 / logits_scaling on lm_head; 1 elsewhere).
// Twins: rmsnorm, matmul and addInPlace in engine/cpu/ops.ts (linearTwin in engine/webgpu/twins.ts).
// Bindings: params, x (rows, In), g (In), w (N, In) words, res (T, ldo), y (T, ldo) out,
// out (T, ldo) out, xn (T, In) out, bias (N) f32. Bindings a variant does not use are bound to
// small dummies.
enable subgroups;
diagnostic(off, subgroup_uniformity); // rows are subgroup-uniform: row = f(local index / subgroup size)

struct Params { T: u32, In: u32, N: u32, ldo: u32, col0: u32, rowBlocks: u32, xRow0: u32, eps: f32, writeXn: u32, hasBias: u32, scale: f32, scaleAt: u32, minAt: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> g: array<vec4f>;
@group(0) @binding(3) var<storage, read> w: array<vec4u>;
@group(0) @binding(4) var<storage, read_write> res: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> xn: array<vec4f>;
@group(0) @binding(8) var<storage, read> bias: array<f32>;

override WG: u32 = 128;
override RPW: u32 = 128;
override TB: u32 = 1;
override R: u32 = 4;
override F16: bool = true;
override NORM: bool = false;
override RESIDUAL: bool = false;
const MAX_TB = 8u;
const MAX_R = 4u;

fn weightWord(m: u32, i: u32) -> u32 { return w[i / 4u][i % 4u]; }

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) lanes: u32) {
  let gi = wid.x + wid.y * nwg.x;
  let t0 = (gi / p.rowBlocks) * TB;
  if (t0 >= p.T) { return; }
  let last = p.T - 1u;
  let words = p.In / select(4u, 8u, F16); // 16-byte words per weight row
  let xw = p.In / 4u;                      // vec4f per row of x
  for (var rg = li / lanes; rg < RPW / R; rg += WG / lanes) {
    let n0 = (gi % p.rowBlocks) * RPW + rg * R;
    if (n0 >= p.N) { break; }
    // Tokens past the last one and rows past N repeat the last (a fixed trip count keeps the sums
    // in registers) and are not written. With NORM the walk also sums the squares of x.
    var acc: array<f32, 32>; // [b * MAX_R + r]
    var ss: array<f32, MAX_TB>;
    for (var j = lane; j < words; j += lanes) {
      // This word of x for each token, times g with NORM (its squares summed first): once for R rows.
      var x0: array<vec4f, MAX_TB>;
      var x1: array<vec4f, MAX_TB>;
      let per = select(1u, 2u, F16);
      var g0 = vec4f(1.0);
      var g1 = vec4f(1.0);
      if (NORM) {
        g0 = g[per * j];
        if (F16) { g1 = g[per * j + 1u]; }
      }
      for (var b = 0u; b < TB; b++) {
        let xo = (p.xRow0 + min(t0 + b, last)) * xw + per * j;
        let xa = x[xo];
        var xb = vec4f(0.0);
        if (F16) { xb = x[xo + 1u]; }
        if (NORM) { ss[b] += dot(xa, xa) + dot(xb, xb); }
        x0[b] = xa * g0;
        x1[b] = xb * g1;
      }
      for (var r = 0u; r < R; r++) {
        let wi = min(n0 + r, p.N - 1u) * words + j;
        if (QUANT != 0u) {
          let v = quant8(0u, wi, vec2u(p.scaleAt, p.minAt));
          for (var b = 0u; b < TB; b++) { acc[b * MAX_R + r] += dot(v[0], x0[b]) + dot(v[1], x1[b]); }
          continue;
        }
        let q = w[wi];
        if (F16) {
          let lo = vec4f(unpack2x16float(q.x), unpack2x16float(q.y));
          let hi = vec4f(unpack2x16float(q.z), unpack2x16float(q.w));
          for (var b = 0u; b < TB; b++) { acc[b * MAX_R + r] += dot(lo, x0[b]) + dot(hi, x1[b]); }
        } else {
          let wf = bitcast<vec4f>(q);
          for (var b = 0u; b < TB; b++) { acc[b * MAX_R + r] += dot(wf, x0[b]); }
        }
      }
    }
    for (var b = 0u; b < TB; b++) {
      let t = t0 + b;
      var scale = 1.0;
      if (NORM) {
        scale = 1.0 / sqrt(subgroupAdd(ss[b]) / f32(p.In) + p.eps);
        // xn, once: by the subgroup of row 0.
        if (p.writeXn != 0u && n0 == 0u && t < p.T) {
          for (var i = lane; i < xw; i += lanes) { xn[t * xw + i] = g[i] * (x[(p.xRow0 + t) * xw + i] * scale); }
        }
      }
      for (var r = 0u; r < R; r++) {
        var s = subgroupAdd(acc[b * MAX_R + r]) * scale;
        let n = n0 + r;
        if (lane == 0u && t < p.T && n < p.N) {
          if (p.hasBias != 0u) { s += bias[n]; }
          s *= p.scale;
          let o = t * p.ldo + p.col0 + n;
          if (RESIDUAL) {
            y[o] = s;
            out[o] = res[o] + s;
          } else {
            out[o] = s;
          }
        }
      }
    }
  }
}

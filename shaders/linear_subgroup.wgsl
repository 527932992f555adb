// A linear layer with its neighbours fused in, on adapters with `subgroups`:
//   out (T, N) = [res +] xn (T, In) @ W (N, In)^T,   xn = RMSNorm(x) * g when NORM, else x.
// NORM folds the RMSNorm that precedes a projection into it (lm_head after the final norm): each
// subgroup computes the scale 1 / sqrt(mean(x^2) + eps) of its tokens and normalises x on the fly,
// element by element as the CPU twin does (g * (x * scale)); with `writeXn` the first workgroup
// also writes xn (the final norm's hook). RESIDUAL is the epilogue of o_proj: y = x @ W^T (the
// hook_attn_out tensor) and out = res + y (the residual stream after attention), so the residual
// add costs no dispatch of its own.
// A subgroup computes one output row n for a block of TB tokens: its lanes walk the row of W in
// strides of 16-byte words (adjacent lanes read adjacent words), keep TB partial sums and reduce
// them with subgroupAdd; no workgroup barriers. Each weight is read once per block of TB tokens:
// prefill (TB = 8) is a matrix-matrix product, decode (TB = 1) a matrix-vector one. F16 weights
// are packed halves (8 per word, In % 8 == 0), F32 weights f32 bits (4 per word, In % 4 == 0);
// accumulation is f32. A workgroup holds WG / subgroup-size subgroups (consecutive ranges of
// local_invocation_index, as every WebGPU backend lays out a one-dimensional workgroup) and covers
// RPW rows (WG / the adapter's smallest subgroup size), each subgroup taking every
// (WG / subgroup size)-th of them. Workgroup g = wid.x + wid.y * nwg.x is row block g % rowBlocks
// of token block g / rowBlocks. Row t reads x row xRow0 + t (the last row alone, for lm_head).
// out, res and y may be wider than N (row stride ldo, first column col0): a weight split into row
// parts under the binding limit writes each part's columns of the same output.
// Twins: rmsnorm, matmul and addInPlace in engine/cpu/ops.ts (linearTwin in engine/webgpu/twins.ts).
// Bindings: params, x (rows, In), g (In), w (N, In) words, res (T, ldo), y (T, ldo) out,
// out (T, ldo) out, xn (T, In) out. Bindings a variant does not use are bound to small dummies.
enable subgroups;
diagnostic(off, subgroup_uniformity); // rows are subgroup-uniform: row = f(local index / subgroup size)

struct Params { T: u32, In: u32, N: u32, ldo: u32, col0: u32, rowBlocks: u32, xRow0: u32, eps: f32, writeXn: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> g: array<vec4f>;
@group(0) @binding(3) var<storage, read> w: array<vec4u>;
@group(0) @binding(4) var<storage, read_write> res: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> xn: array<vec4f>;

override WG: u32 = 128;
override RPW: u32 = 32;
override TB: u32 = 1;
override F16: bool = true;
override NORM: bool = false;
override RESIDUAL: bool = false;
const MAX_TB = 8u;

// Word i (4 elements) of the input row of token t: x itself, or its RMSNorm.
fn xin(t: u32, i: u32, scale: f32) -> vec4f {
  let v = x[(p.xRow0 + t) * (p.In / 4u) + i];
  if (NORM) { return g[i] * (v * scale); }
  return v;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) lanes: u32) {
  let gi = wid.x + wid.y * nwg.x;
  let t0 = (gi / p.rowBlocks) * TB;
  if (t0 >= p.T) { return; }
  let last = p.T - 1u;
  let words = p.In / select(4u, 8u, F16); // 16-byte words per weight row
  let xw = p.In / 4u;                      // vec4f per row of x
  // Tokens past the last one repeat it (a fixed trip count keeps the sums in registers).
  var scale: array<f32, MAX_TB>;
  for (var b = 0u; b < TB; b++) {
    scale[b] = 1.0;
    if (NORM) {
      let xo = (p.xRow0 + min(t0 + b, last)) * xw;
      var ss = 0.0;
      for (var i = lane; i < xw; i += lanes) { let v = x[xo + i]; ss += dot(v, v); }
      scale[b] = 1.0 / sqrt(subgroupAdd(ss) / f32(p.In) + p.eps);
    }
  }
  if (NORM && p.writeXn != 0u && gi % p.rowBlocks == 0u && li < lanes) {
    for (var b = 0u; b < TB; b++) {
      if (t0 + b >= p.T) { break; }
      for (var i = lane; i < xw; i += lanes) { xn[(t0 + b) * xw + i] = xin(t0 + b, i, scale[b]); }
    }
  }
  for (var r = li / lanes; r < RPW; r += WG / lanes) {
    let n = (gi % p.rowBlocks) * RPW + r;
    if (n >= p.N) { break; }
    var acc: array<f32, MAX_TB>;
    for (var j = lane; j < words; j += lanes) {
      let q = w[n * words + j];
      if (F16) {
        let lo = vec4f(unpack2x16float(q.x), unpack2x16float(q.y));
        let hi = vec4f(unpack2x16float(q.z), unpack2x16float(q.w));
        for (var b = 0u; b < TB; b++) {
          let t = min(t0 + b, last);
          acc[b] += dot(lo, xin(t, 2u * j, scale[b])) + dot(hi, xin(t, 2u * j + 1u, scale[b]));
        }
      } else {
        let wf = bitcast<vec4f>(q);
        for (var b = 0u; b < TB; b++) { acc[b] += dot(wf, xin(min(t0 + b, last), j, scale[b])); }
      }
    }
    for (var b = 0u; b < TB; b++) {
      let s = subgroupAdd(acc[b]);
      if (lane == 0u && t0 + b < p.T) {
        let o = (t0 + b) * p.ldo + p.col0 + n;
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

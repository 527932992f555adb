// A linear layer with its neighbours fused in, on every adapter (workgroup reductions):
//   out (T, N) = [res +] xn (T, In) @ W (N, In)^T,   xn = RMSNorm(x) * g when NORM, else x.
// The same contract as linear_subgroup.wgsl (NORM folds the preceding RMSNorm, `writeXn` writes
// xn from the workgroups of column 0, RESIDUAL writes y = x @ W^T and out = res + y), computed
// one workgroup per output (t, n): its WG invocations walk the row of W in strides of pairs
// (adjacent invocations read adjacent words), then reduce in workgroup memory (WG a power of
// two). With NORM the same walk sums the squares of x, reduced with the dot product. F16 weights
// are packed halves (W[n, 2j] and W[n, 2j+1] the low and high halves of word n * In/2 + j), F32
// weights f32 bits, q8/q4 weights as lib/weights.wgsl reads them (In % 32 == 0); In even. Row t reads x row xRow0 + t; out, res and y have row stride ldo
// and first column col0 (the parts of a split weight).
// The epilogue of the families' projections (linear_subgroup.wgsl says the same): with `hasBias`
// the product gets bias[n] (o_proj's bias), then is multiplied by `scale` (Granite's
// residual_multiplier on o_proj, 1 / logits_scaling on lm_head; 1 elsewhere).
// Twins: rmsnorm, matmul and addInPlace in engine/cpu/ops.ts (linearTwin in engine/webgpu/twins.ts).
// Bindings: params, x (rows, In), g (In), w (N, In) words, res (T, ldo), y (T, ldo) out,
// out (T, ldo) out, xn (T, In) out, bias (N) f32.
struct Params { T: u32, In: u32, N: u32, ldo: u32, col0: u32, xRow0: u32, eps: f32, writeXn: u32, hasBias: u32, scale: f32, scaleAt: u32, minAt: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<u32>;
@group(0) @binding(4) var<storage, read_write> res: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> xn: array<f32>;
@group(0) @binding(8) var<storage, read> bias: array<f32>;

override WG: u32 = 64;
override F16: bool = true;
override NORM: bool = false;
override RESIDUAL: bool = false;
var<workgroup> partial: array<vec2f, WG>;

// The sums of `v` over the workgroup (every invocation gets them).
fn total(v: vec2f, lid: u32) -> vec2f {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  return partial[0];
}

fn weightWord(m: u32, i: u32) -> u32 { return w[i]; }

// Weights 2j and 2j + 1 of the matrix, from packed halves, f32 bits or q8/q4 (lib/weights.wgsl).
fn pair(j: u32) -> vec2f {
  if (QUANT != 0u) { return quantPair(0u, j, vec2u(p.scaleAt, p.minAt)); }
  if (F16) { return unpack2x16float(w[j]); }
  return vec2f(bitcast<f32>(w[2u * j]), bitcast<f32>(w[2u * j + 1u]));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let o = wid.x + wid.y * nwg.x; // the output element t * N + n
  if (o >= p.T * p.N) { return; } // uniform across the workgroup, so the barriers below stay uniform
  let t = o / p.N;
  let n = o % p.N;
  let xo = (p.xRow0 + t) * p.In;
  let pairs = p.In / 2u;
  // One walk: the dot product with g * x (NORM) or x, and with NORM the squares of x for its scale.
  var acc = vec2f(0.0);
  for (var j = lid.x; j < pairs; j += WG) {
    let xv = vec2f(x[xo + 2u * j], x[xo + 2u * j + 1u]);
    if (NORM) {
      acc += vec2f(dot(pair(n * pairs + j), vec2f(g[2u * j], g[2u * j + 1u]) * xv), dot(xv, xv));
    } else {
      acc.x += dot(pair(n * pairs + j), xv);
    }
  }
  let sums = total(acc, lid.x);
  var s = sums.x;
  if (NORM) {
    let scale = 1.0 / sqrt(sums.y / f32(p.In) + p.eps);
    s *= scale;
    if (p.writeXn != 0u && n == 0u) {
      for (var i = lid.x; i < p.In; i += WG) { xn[t * p.In + i] = g[i] * (x[xo + i] * scale); }
    }
  }
  if (p.hasBias != 0u) { s += bias[n]; }
  s *= p.scale;
  if (lid.x == 0u) {
    let at = t * p.ldo + p.col0 + n;
    if (RESIDUAL) {
      y[at] = s;
      out[at] = res[at] + s;
    } else {
      out[at] = s;
    }
  }
}

// out (T, N) = x (T, In) @ W (N, In)^T, an nn.Linear without bias, on adapters with `subgroups`.
// A subgroup computes one output row n for a block of TB tokens: its lanes walk the row of W in
// strides of 16-byte words (adjacent lanes read adjacent words, so a subgroup reads one
// contiguous span per step), keep TB partial sums, and reduce them with subgroupAdd. No
// workgroup barriers: the reduction stays in registers, which is what real GPUs (32- or 64-lane
// subgroups) and SwiftShader (4 lanes, where barriers are expensive) both want. Each weight is
// read once per block of TB tokens, so prefill (TB = 8) is a matrix-matrix product and decode
// (TB = 1) a matrix-vector one. F16 weights are packed halves (8 per word, In % 8 == 0), F32
// weights are f32 bits (4 per word, In % 4 == 0); accumulation is f32.
// Twin: matmul in engine/cpu/ops.ts.
// A workgroup holds WG / subgroup-size subgroups (taken as consecutive ranges of
// local_invocation_index, as every WebGPU backend lays out a one-dimensional workgroup); it
// covers RPW rows (WG / the adapter's smallest subgroup size), each subgroup taking every
// (WG / subgroup size)-th of them, so any subgroup size the adapter picks is covered.
// Workgroup g = wid.x + wid.y * nwg.x is row block g % rowBlocks of token block g / rowBlocks.
// out may be wider than N (row stride ldo, first column col0): a weight split into row parts
// under the binding limit writes each part's columns of the same output.
// Bindings: params {T, In, N, ldo, col0, rowBlocks}, x (T, In) f32, w (N, In) words, out (T, ldo).
enable subgroups;
diagnostic(off, subgroup_uniformity); // rows are subgroup-uniform: row = f(local index / subgroup size)

struct Params { T: u32, In: u32, N: u32, ldo: u32, col0: u32, rowBlocks: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read> w: array<vec4u>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 128;
override RPW: u32 = 32;
override TB: u32 = 1;
override F16: bool = true;
const MAX_TB = 8u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) lanes: u32) {
  let g = wid.x + wid.y * nwg.x;
  let t0 = (g / p.rowBlocks) * TB;
  if (t0 >= p.T) { return; }
  let last = p.T - 1u;
  let words = p.In / select(4u, 8u, F16); // 16-byte words per weight row
  let xw = p.In / 4u;                      // vec4f per row of x
  for (var r = li / lanes; r < RPW; r += WG / lanes) {
    let n = (g % p.rowBlocks) * RPW + r;
    if (n >= p.N) { break; }
    var acc: array<f32, MAX_TB>;
    for (var j = lane; j < words; j += lanes) {
      let q = w[n * words + j];
      // Tokens past the last one re-read the last row (a fixed trip count keeps acc in registers).
      if (F16) {
        let lo = vec4f(unpack2x16float(q.x), unpack2x16float(q.y));
        let hi = vec4f(unpack2x16float(q.z), unpack2x16float(q.w));
        for (var b = 0u; b < TB; b++) {
          let xo = min(t0 + b, last) * xw + 2u * j;
          acc[b] += dot(lo, x[xo]) + dot(hi, x[xo + 1u]);
        }
      } else {
        let wf = bitcast<vec4f>(q);
        for (var b = 0u; b < TB; b++) { acc[b] += dot(wf, x[min(t0 + b, last) * xw + j]); }
      }
    }
    for (var b = 0u; b < TB; b++) {
      let s = subgroupAdd(acc[b]);
      if (lane == 0u && t0 + b < p.T) { out[(t0 + b) * p.ldo + p.col0 + n] = s; }
    }
  }
}

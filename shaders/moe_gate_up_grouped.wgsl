// First half of the experts for many tokens at once (prefill), on tokens grouped by expert
// (moe_group.wgsl): for expert e and a tile of up to TILE of its slots,
// h[slot, f] = silu(w1[e, f, :] . x_t) * (w3[e, f, :] . x_t) for TILE values of f, t = slot / K.
// The tile's x rows and weight rows are staged in workgroup memory TILE pairs at a time, so each
// weight is read from memory once per tile of tokens rather than once per token (the point of
// grouping: a matrix-matrix product per expert instead of one matrix-vector product per token).
// Grid: x = ceil(F / TILE) feature tiles, y = local expert * tiles + token tile; a tile past its
// expert's count returns at once. The weight buffer holds experts e0 .. e0 + experts - 1 (a
// tensor split under the binding limit runs one dispatch per part).
// Bindings: params, x (T, D) f32, offsets (E+1) u32, order (T*K) u32, w1 and w3 (experts, F, D)
// as packed f16 pairs (F16, D even), f32 bits or q8/q4 weights (QUANT) as lib/weights.wgsl reads them
// (D % 32 == 0; scales at word scaleAt of this part's buffer), h (T*K, F) f32 out.
struct Params { K: u32, D: u32, F: u32, tiles: u32, e0: u32, scaleAt: u32, minAt: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read> w1: array<u32>;
@group(0) @binding(5) var<storage, read> w3: array<u32>;
@group(0) @binding(6) var<storage, read_write> h: array<f32>;

override TILE: u32 = 16;
override F16: bool = true;
var<workgroup> xs: array<vec2f, TILE * TILE>;  // [row][pair]
var<workgroup> w1s: array<vec2f, TILE * TILE>; // [feature][pair]
var<workgroup> w3s: array<vec2f, TILE * TILE>;
var<workgroup> tileRows: u32;

fn weightWord(m: u32, i: u32) -> u32 {
  if (m == 0u) { return w1[i]; }
  return w3[i];
}

// Weights 2j and 2j+1 of a matrix, from packed halves, f32 bits or q8/q4 (w1 and w3 have the same layout).
fn pair1(j: u32) -> vec2f {
  if (QUANT != 0u) { return quantPair(0u, j, vec2u(p.scaleAt, p.minAt)); }
  if (F16) { return unpack2x16float(w1[j]); }
  return vec2f(bitcast<f32>(w1[2u * j]), bitcast<f32>(w1[2u * j + 1u]));
}
fn pair3(j: u32) -> vec2f {
  if (QUANT != 0u) { return quantPair(1u, j, vec2u(p.scaleAt, p.minAt)); }
  if (F16) { return unpack2x16float(w3[j]); }
  return vec2f(bitcast<f32>(w3[2u * j]), bitcast<f32>(w3[2u * j + 1u]));
}

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let el = wid.y / p.tiles;          // expert within this weight buffer
  let e = p.e0 + el;
  let first = (wid.y % p.tiles) * TILE;
  if (lid.x == 0u && lid.y == 0u) { tileRows = min(TILE, max(offsets[e + 1u] - offsets[e], first) - first); }
  let rows = workgroupUniformLoad(&tileRows);
  if (rows == 0u) { return; }
  let r = lid.y;                     // this invocation's row (slot) in the tile
  let c = lid.x;                     // and its feature f0 + c
  let f0 = wid.x * TILE;
  let slot = order[offsets[e] + first + min(r, rows - 1u)];
  let xo = (slot / p.K) * p.D / 2u;  // in pairs
  let pairs = p.D / 2u;
  let loadF = f0 + r;                // the weight row this invocation stages
  var g = 0.0;
  var u = 0.0;
  for (var j0 = 0u; j0 < pairs; j0 += TILE) {
    let j = j0 + c;
    var xv = vec2f(0.0);
    if (j < pairs) { xv = vec2f(x[2u * (xo + j)], x[2u * (xo + j) + 1u]); }
    xs[r * TILE + c] = xv;
    var a = vec2f(0.0);
    var b = vec2f(0.0);
    if (j < pairs && loadF < p.F) {
      let w = (el * p.F + loadF) * pairs + j;
      a = pair1(w);
      b = pair3(w);
    }
    w1s[r * TILE + c] = a;
    w3s[r * TILE + c] = b;
    workgroupBarrier();
    for (var i = 0u; i < TILE; i++) {
      let xv2 = xs[r * TILE + i];
      g += dot(w1s[c * TILE + i], xv2);
      u += dot(w3s[c * TILE + i], xv2);
    }
    workgroupBarrier();
  }
  let f = f0 + c;
  if (r < rows && f < p.F) { h[slot * p.F + f] = g / (1.0 + exp(-g)) * u; }
}

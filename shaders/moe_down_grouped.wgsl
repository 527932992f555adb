// Second half of the experts for many tokens at once (prefill), on tokens grouped by expert:
// for expert e and a tile of up to TILE of its slots, expertOut[slot, d] = w2[e, d, :] . h[slot, :]
// for TILE values of d. Staged in workgroup memory as in moe_gate_up_grouped.wgsl, so each
// weight is read once per tile of tokens. Each (token, slot) output is written by exactly one
// invocation; moe_combine.wgsl then sums the slots in order, so the result does not depend on
// scheduling.
// Grid: x = ceil(D / TILE), y = local expert * tiles + token tile.
// Bindings: params, h (T*K, F) f32, offsets (E+1) u32, order (T*K) u32, w2 (experts, D, F) as
// packed f16 pairs (F16, F even), f32 bits or
// q8/q4 weights (QUANT) as lib/weights.wgsl reads them (F % 32 == 0), expertOut (T*K, D) f32 out.
struct Params { D: u32, F: u32, tiles: u32, e0: u32, scaleAt: u32, minAt: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read> w2: array<u32>;
@group(0) @binding(5) var<storage, read_write> expertOut: array<f32>;

override TILE: u32 = 16;
override F16: bool = true;
var<workgroup> hs: array<vec2f, TILE * TILE>;  // [row][pair]
var<workgroup> ws: array<vec2f, TILE * TILE>;  // [output][pair]
var<workgroup> tileRows: u32;

fn weightWord(m: u32, i: u32) -> u32 { return w2[i]; }

// Weights 2j and 2j+1, from packed halves, f32 bits or q8/q4 (lib/weights.wgsl).
fn pair2(j: u32) -> vec2f {
  if (QUANT != 0u) { return quantPair(0u, j, vec2u(p.scaleAt, p.minAt)); }
  if (F16) { return unpack2x16float(w2[j]); }
  return vec2f(bitcast<f32>(w2[2u * j]), bitcast<f32>(w2[2u * j + 1u]));
}

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let el = wid.y / p.tiles;
  let e = p.e0 + el;
  let first = (wid.y % p.tiles) * TILE;
  if (lid.x == 0u && lid.y == 0u) { tileRows = min(TILE, max(offsets[e + 1u] - offsets[e], first) - first); }
  let rows = workgroupUniformLoad(&tileRows);
  if (rows == 0u) { return; }
  let r = lid.y;
  let c = lid.x;
  let d0 = wid.x * TILE;
  let slot = order[offsets[e] + first + min(r, rows - 1u)];
  let ho = slot * p.F / 2u;          // in pairs
  let pairs = p.F / 2u;
  let loadD = d0 + r;
  var y = 0.0;
  for (var j0 = 0u; j0 < pairs; j0 += TILE) {
    let j = j0 + c;
    var hv = vec2f(0.0);
    if (j < pairs) { hv = vec2f(h[2u * (ho + j)], h[2u * (ho + j) + 1u]); }
    hs[r * TILE + c] = hv;
    var w = vec2f(0.0);
    if (j < pairs && loadD < p.D) { w = pair2((el * p.D + loadD) * pairs + j); }
    ws[r * TILE + c] = w;
    workgroupBarrier();
    for (var i = 0u; i < TILE; i++) { y += dot(ws[c * TILE + i], hs[r * TILE + i]); }
    workgroupBarrier();
  }
  let d = d0 + c;
  if (r < rows && d < p.D) { expertOut[slot * p.D + d] = y; }
}

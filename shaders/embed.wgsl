// Embedding lookup: x[t, :] = scale * embed[ids[t], :] for t < T (scale: Granite's
// embedding_multiplier, 1 elsewhere).
// Bindings: params, ids (T) u32, embed (rows, D) as packed f16 pairs (F16, D even), f32 bits or
// q8/q4 (QUANT: lib/weights.wgsl, D % 32 == 0),
// x (T, D) f32 out. The buffer holds vocabulary rows row0 .. row0 + rows - 1: a table larger than
// the binding limit is split into parts, one dispatch each, and a token outside this part is left
// to the dispatch that holds it. One invocation per output element.
struct Params { T: u32, D: u32, row0: u32, rows: u32, scale: f32, scaleAt: u32, minAt: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> embed: array<u32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

override WG: u32 = 64;
override F16: bool = true;

fn weightWord(m: u32, i: u32) -> u32 { return embed[i]; }

fn weight(i: u32) -> f32 {
  if (QUANT != 0u) {
    let pair = quantPair(0u, i / 2u, vec2u(p.scaleAt, p.minAt));
    return select(pair.x, pair.y, (i & 1u) == 1u);
  }
  if (F16) {
    let pair = unpack2x16float(embed[i / 2u]);
    return select(pair.x, pair.y, (i & 1u) == 1u);
  }
  return bitcast<f32>(embed[i]);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.T * p.D) { return; }
  let t = i / p.D;
  let d = i % p.D;
  let id = ids[t];
  if (id < p.row0 || id - p.row0 >= p.rows) { return; }
  x[i] = weight((id - p.row0) * p.D + d) * p.scale;
}

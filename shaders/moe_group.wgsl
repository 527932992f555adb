// Tokens grouped by expert, for prefill: the (token, slot) pairs routed to each expert listed
// together, so that the grouped expert kernels read each expert's weights once per tile of its
// tokens. offsets[e] is where expert e's list starts in `order` (offsets[E] = T*K) and
// order[offsets[e] + i] is the i-th slot t*K + k routed to e, in ascending slot order.
// One workgroup; invocation e counts and then lists expert e's slots by scanning idx itself, so the
// lists never depend on scheduling (no atomics: the same input gives the same order). The cost is
// E scans of T*K words on E invocations: microseconds for a prefill of a few thousand tokens.
// Bindings: params, idx (T*K) u32, offsets (E+1) u32 out, order (T*K) u32 out.
struct Params { slots: u32, E: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> idx: array<u32>;
@group(0) @binding(2) var<storage, read_write> offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> order: array<u32>;

override WG: u32 = 64;
var<workgroup> counts: array<u32, 128>; // E <= 128, as the router requires

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u) {
  for (var e = lid.x; e < p.E; e += WG) {
    var n = 0u;
    for (var s = 0u; s < p.slots; s++) { n += select(0u, 1u, idx[s] == e); }
    counts[e] = n;
  }
  workgroupBarrier();
  for (var e = lid.x; e < p.E; e += WG) {
    var at = 0u;
    for (var j = 0u; j < e; j++) { at += counts[j]; }
    offsets[e] = at;
    if (e == p.E - 1u) { offsets[p.E] = at + counts[e]; }
    for (var s = 0u; s < p.slots; s++) {
      if (idx[s] == e) { order[at] = s; at++; }
    }
  }
}

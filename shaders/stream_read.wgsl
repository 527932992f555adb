// The bench's roof: a read-only streaming kernel, timed with timestamps beside a layer (bench/scale.ts).
// Each invocation sums a strided run of 16-byte words; one word per workgroup is written so the
// reads cannot be skipped. Grid-stride: workgroup g of G reads words g * WG + lid + k * G * WG.
// Bindings: params {words}, src (words) vec4u, out (workgroups) u32.
struct Params { words: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4u>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

override WG: u32 = 256;
var<workgroup> acc: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let groups = nwg.x * nwg.y;
  let g = wid.x + wid.y * nwg.x;
  var s = vec4u(0u);
  for (var i = g * WG + lid.x; i < p.words; i += groups * WG) { s ^= src[i]; }
  acc[lid.x] = s.x ^ s.y ^ s.z ^ s.w;
  workgroupBarrier();
  if (lid.x == 0u) {
    var r = 0u;
    for (var i = 0u; i < WG; i++) { r ^= acc[i]; }
    out[g] = r;
  }
}

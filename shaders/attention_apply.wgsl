// z from a given pattern: z[t, h, :] = headScale[h] * sum_j pattern[h, t, j] * v[j, h / (H / Hkv), :].
// Not on the usual path (attention.wgsl computes z without the pattern): it reruns the weighted
// sum when a function hook has replaced hook_pattern. One invocation per element of z.
// Twin: the z loop of the attention in engine/cpu/forward.ts.
// Bindings: params, step {S}, pattern (this layer's (H, T, S) block at patternSlot), kv cache
// (see lib/kv.wgsl), headScale (H), z (T, H, Dh) out.
struct Params { T: u32, H: u32, Hkv: u32, Dh: u32, vOffset: u32, patternSlot: u32 }
struct Step { pos0: u32, S: u32, splits: u32, draw: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read_write> pattern: array<f32>;
@group(0) @binding(3) var<storage, read> kv: array<u32>;
@group(0) @binding(4) var<storage, read> headScale: array<f32>;
@group(0) @binding(5) var<storage, read_write> z: array<f32>;

override WG: u32 = 64;
override F16KV: bool = false;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.T * p.H * p.Dh) { return; }
  let d = i % p.Dh;
  let h = (i / p.Dh) % p.H;
  let t = i / (p.Dh * p.H);
  let kvh = h / (p.H / p.Hkv);
  let ao = (p.patternSlot * p.H * p.T + h * p.T + t) * step.S;
  var s = 0.0;
  for (var j = 0u; j < step.S; j++) {
    let a = pattern[ao + j];
    if (a != 0.0) { s += a * cached(p.vOffset, j, kvh, d); }
  }
  z[i] = s * headScale[h];
}

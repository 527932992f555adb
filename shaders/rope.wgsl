// Rotary embedding, rotate-half convention, in place on x (T, heads, Dh) at absolute positions
// pos0 + t: for i < Dh/2 the pair (x_i, x_{i+Dh/2}) is rotated by angle = f32(pos0 + t) * invFreq[i].
// invFreq[i] = fround(1 / theta^(2i/Dh)) comes from the host, computed as the CPU twin does: a
// pow in f32 here would be off by an ULP or two, and pos multiplies that error. One invocation
// per (t, head, i). Twin: rope in engine/cpu/ops.ts.
// Bindings: params {T, heads, Dh, pos0}, invFreq (Dh/2), x (T, heads, Dh) in/out.
struct Params { T: u32, heads: u32, Dh: u32, pos0: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> invFreq: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;

override WG: u32 = 64;

// WGSL promises sin and cos only to 2^-11 absolute (SwiftShader is near that), so they are
// computed here from correctly rounded + and *: reduce the angle by q quarter turns, then
// evaluate Cephes' sinf/cosf polynomials on [-π/4, π/4] (about 1 ulp there).
// π/2 = P1 + P2 + P3 with P1, P2 of 8 bits: q * P1 and q * P2 are exact for q < 2^16, so the
// reduction loses under 1e-7 for angles below 10^5 radians.
const P1 = 1.5703125;
const P2 = 0.0004825592041015625;
const P3 = 0.0000012675908465098473;
const TWO_OVER_PI = 0.6366197466850281;

// (sin a, cos a) for a >= 0.
fn sincos(a: f32) -> vec2f {
  let q = round(a * TWO_OVER_PI);
  let r = ((a - q * P1) - q * P2) - q * P3;
  let z = r * r;
  let s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  let c = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  switch (u32(q) & 3u) {
    case 0u: { return vec2f(s, c); }
    case 1u: { return vec2f(c, -s); }
    case 2u: { return vec2f(-s, -c); }
    default: { return vec2f(-c, s); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let half = p.Dh / 2u;
  let j = gid.x + gid.y * nwg.x * WG; // (t * heads + h) * half + i
  if (j >= p.T * p.heads * half) { return; }
  let i = j % half;
  let th = j / half; // t * heads + h
  let t = th / p.heads;
  let sc = sincos(f32(p.pos0 + t) * invFreq[i]);
  let o = th * p.Dh;
  let a = x[o + i];
  let b = x[o + i + half];
  x[o + i] = a * sc.y - b * sc.x;
  x[o + i + half] = b * sc.y + a * sc.x;
}

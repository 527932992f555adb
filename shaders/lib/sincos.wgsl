// sin and cos for the rotary embedding, prepended to the kernels that rotate (qkv*.wgsl) by
// engine/webgpu/shaders.ts. WGSL promises sin and cos only to 2^-11 absolute (SwiftShader is near
// that), so they are computed here from correctly rounded + and *: reduce the angle by q quarter
// turns, then evaluate Cephes' sinf/cosf polynomials on [-π/4, π/4] (about 1 ulp there).
// π/2 = P1 + P2 + P3 with P1, P2 of 8 bits: q * P1 and q * P2 are exact for q < 2^16, so the
// reduction loses under 1e-7 for angles below 10^5 radians. Twin: Math.sin/Math.cos in rope
// (engine/cpu/ops.ts), on the same f32 angle.
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

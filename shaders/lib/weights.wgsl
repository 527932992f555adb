// Quantized weights for the kernels that read a big matrix (prepended by engine/webgpu/shaders.ts).
// The layout is engine/webgpu/weight-layout.ts's (the numbers of engine/quant/quantize.ts): a
// part's buffer holds the q region from word 0 (q8: int8, 4 a word; q4: 8 nibbles a word, the
// even index in the low nibble), then one f16 scale per group of 32 elements along a row, then
// (q4) one f16 minimum per group, two halves a word; each region starts at a word offset the host
// computes from the part's rows and columns (partLayout) and passes in the kernel's params as
// `at` = (scale word, min word). Rows are whole groups (cols % 32 == 0), so element e of the
// row-major matrix is in group e / 32 whatever the row length, and a kernel needs only e.
// QUANT: 0 the kernel reads f16 / f32 itself, 8 q8, 4 q4 (an override set per variant). A kernel
// that includes this declares `fn weightWord(m: u32, i: u32) -> u32`: word i of its matrix m (its
// matrices numbered in binding order).
// Dequantizing is w = q * s (q8) and w = q * s + min (q4) in f32: q * s is exact (at most 8 + 11
// significant bits), so a fused multiply-add rounds as the CPU's dequantRow does.
override QUANT: u32 = 0u;

// The scale and the minimum (q4; 0 for q8) of group gi of matrix m.
fn quantGroup(m: u32, gi: u32, at: vec2u) -> vec2f {
  let s = unpack2x16float(weightWord(m, at.x + gi / 2u))[gi & 1u];
  var mn = 0.0;
  if (QUANT == 4u) { mn = unpack2x16float(weightWord(m, at.y + gi / 2u))[gi & 1u]; }
  return vec2f(s, mn);
}

// The four signed bytes of a q8 word, low byte first.
fn q8Values(word: u32) -> vec4f {
  let v = bitcast<i32>(word);
  return vec4f(f32(extractBits(v, 0u, 8u)), f32(extractBits(v, 8u, 8u)), f32(extractBits(v, 16u, 8u)), f32(extractBits(v, 24u, 8u)));
}

// Nibbles 4h .. 4h + 3 of a q4 word, low nibble first.
fn q4Values(word: u32, h: u32) -> vec4f {
  let b = 16u * h;
  return vec4f(f32(extractBits(word, b, 4u)), f32(extractBits(word, b + 4u, 4u)), f32(extractBits(word, b + 8u, 4u)), f32(extractBits(word, b + 12u, 4u)));
}

// Elements 2j and 2j + 1 of matrix m (pair j, as the f16 layout's word j): the workgroup-reduction kernels.
fn quantPair(m: u32, j: u32, at: vec2u) -> vec2f {
  let e = 2u * j;
  let sm = quantGroup(m, e / 32u, at);
  if (QUANT == 8u) {
    let v = bitcast<i32>(weightWord(m, e / 4u));
    let b = 8u * (e % 4u);
    return vec2f(f32(extractBits(v, b, 8u)), f32(extractBits(v, b + 8u, 8u))) * sm.x;
  }
  let word = weightWord(m, e / 8u);
  let b = 4u * (e % 8u);
  return vec2f(f32(extractBits(word, b, 4u)), f32(extractBits(word, b + 4u, 4u))) * sm.x + sm.y;
}

// Elements 8i .. 8i + 7 of matrix m (as the f16 layout's 16-byte word i): the subgroup kernels.
fn quant8(m: u32, i: u32, at: vec2u) -> array<vec4f, 2> {
  let sm = quantGroup(m, i / 4u, at);
  if (QUANT == 8u) {
    return array<vec4f, 2>(q8Values(weightWord(m, 2u * i)) * sm.x, q8Values(weightWord(m, 2u * i + 1u)) * sm.x);
  }
  let word = weightWord(m, i);
  return array<vec4f, 2>(q4Values(word, 0u) * sm.x + sm.y, q4Values(word, 1u) * sm.x + sm.y);
}

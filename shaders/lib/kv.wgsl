// Reading the KV cache, prepended to the attention kernels by engine/webgpu/shaders.ts. The cache
// of a layer is (2, capacity, Hkv, Dh) words: keys, then values from word p.vOffset. With F16KV a
// word holds the halves of elements i (low) and i + Dh/2 (high) of a head, as qkv*.wgsl writes
// them; otherwise one f32.
fn cached(at: u32, j: u32, kvh: u32, d: u32) -> f32 {
  if (F16KV) {
    let half = p.Dh / 2u;
    let pair = unpack2x16float(kv[at + (j * p.Hkv + kvh) * half + d % half]);
    return select(pair.x, pair.y, d >= half);
  }
  return bitcast<f32>(kv[at + (j * p.Hkv + kvh) * p.Dh + d]);
}

// The experts' weighted sum and the residual add after the MoE block (prefill):
// mlpOut[t, d] = sum_k weights[t, k] * expertOut[t*K + k, d], k in order (as the CPU twin adds
// them), so the result is the same whatever order the experts ran in; out = res + mlpOut.
// mlpOut is multiplied by `scale` (Granite's residual_multiplier; 1 elsewhere) before the add.
// Twin: the expert loop of engine/cpu/forward.ts and addInPlace (moeTwin in engine/webgpu/twins.ts).
// Bindings: params, choice (indices (T, K), then weights (T, K) as f32 bits), expertOut
// (T*K, D) f32, res (T, D), mlpOut (T, D) out (the hook), out (T, D) out.
struct Params { T: u32, K: u32, D: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> choice: array<u32>;
@group(0) @binding(2) var<storage, read_write> expertOut: array<f32>;
@group(0) @binding(3) var<storage, read_write> res: array<f32>;
@group(0) @binding(4) var<storage, read_write> mlpOut: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.T * p.D) { return; }
  let t = i / p.D;
  let d = i % p.D;
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) {
    let slot = t * p.K + k;
    acc += bitcast<f32>(choice[p.T * p.K + slot]) * expertOut[slot * p.D + d];
  }
  mlpOut[i] = acc * p.scale;
  out[i] = res[i] + acc * p.scale;
}

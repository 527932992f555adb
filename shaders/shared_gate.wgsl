// Qwen2-MoE's shared expert joins the routed ones: per token t,
//   gate[t] = sigmoid(shared_expert_gate · xn[t])                 (stage 0; stage 1: gate as given)
//   mlpOut[t] = scale * (routed[t] + gate[t] * shared[t]);  out[t] = res[t] + mlpOut[t]
// routed is the chosen experts' weighted sum, shared the shared expert's output (its SwiGLU ran
// as an expert every token chooses, moe_*.wgsl), res the residual stream after attention, scale
// the residual multiplier (1: Qwen2-MoE has none). Stage 1 reruns the combine after a function
// hook replaced the shared expert's output or its gate.
// One workgroup per token: the dot product reduced in workgroup memory (WG a power of two).
// Twin: the shared expert's lines of engine/cpu/forward.ts (sharedGateTwin in engine/webgpu/twins.ts).
// Bindings: params, xn (T, D), wg (D) f32, routed (T, D), shared (T, D), res (T, D),
// gate (T) in/out, mlpOut (T, D) out, out (T, D) out.
struct Params { T: u32, D: u32, stage: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> xn: array<f32>;
@group(0) @binding(2) var<storage, read> wg: array<f32>;
@group(0) @binding(3) var<storage, read_write> routed: array<f32>;
@group(0) @binding(4) var<storage, read_write> sharedOut: array<f32>;
@group(0) @binding(5) var<storage, read_write> res: array<f32>;
@group(0) @binding(6) var<storage, read_write> gate: array<f32>;
@group(0) @binding(7) var<storage, read_write> mlpOut: array<f32>;
@group(0) @binding(8) var<storage, read_write> out: array<f32>;

override WG: u32 = 64;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = wid.x + wid.y * nwg.x;
  if (t >= p.T) { return; } // uniform across the workgroup
  let o = t * p.D;
  var gt: f32;
  if (p.stage == 0u) {
    var s = 0.0;
    for (var i = lid.x; i < p.D; i += WG) { s += xn[o + i] * wg[i]; }
    red[lid.x] = s;
    workgroupBarrier();
    for (var k = WG / 2u; k > 0u; k >>= 1u) {
      if (lid.x < k) { red[lid.x] += red[lid.x + k]; }
      workgroupBarrier();
    }
    gt = 1.0 / (1.0 + exp(-red[0]));
    if (lid.x == 0u) { gate[t] = gt; }
  } else {
    gt = gate[t];
  }
  for (var i = lid.x; i < p.D; i += WG) {
    let m = p.scale * (routed[o + i] + gt * sharedOut[o + i]);
    mlpOut[o + i] = m;
    out[o + i] = res[o + i] + m;
  }
}

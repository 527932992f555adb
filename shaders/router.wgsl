// The MoE router of each token, fused with what feeds it: RMSNorm (post_attention_layernorm) of
// the residual stream, the gate projection, then the router bias, softmax over the experts that
// are not ablated, the top K (ties to the lower index), weights renormalised to sum to 1 (`renorm`), and the
// forced-expert rules. Writes xn (the experts' input), the biased logits (what the hook sees),
// the probabilities and the choice: indices (T, K), then weights (T, K) as f32 bits, the layout
// of hook_expert_choice. One workgroup per token: its invocations reduce the sum of squares and
// the E dot products in workgroup memory; invocation 0 then does the rest (lib/route.wgsl: E is
// small). router_subgroup.wgsl does the same with subgroup operations.
// `stage` reruns the tail after a function hook replaced a value: 1 starts from the logits (as
// given, without the bias), 2 from the probabilities.
// Twin: the router of engine/cpu/forward.ts (routerTwin in engine/webgpu/twins.ts).
// Bindings: params, step {pos0}, x (T, D), g (D), gate (E, D) f32, rules, xn (T, D) out,
// logits (T, E) in/out, probs (T, E) in/out, choice (2, T, K) out.
// rules: [bias (E) f32 bits, ablated (E, 1 = never route), count, then per rule: allPositions,
// nPositions, hasWeights, experts[K], weightBits[K], positions[nPositions]] (positions are
// absolute; the first matching rule wins, as in the CPU engine).
struct Params { T: u32, D: u32, E: u32, K: u32, eps: f32, stage: u32, renorm: u32 }
struct Step { pos0: u32, S: u32, splits: u32, draw: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> gate: array<f32>;
@group(0) @binding(5) var<storage, read> rules: array<u32>;
@group(0) @binding(6) var<storage, read_write> xn: array<f32>;
@group(0) @binding(7) var<storage, read_write> logits: array<f32>;
@group(0) @binding(8) var<storage, read_write> probs: array<f32>;
@group(0) @binding(9) var<storage, read_write> choice: array<u32>;

override WG: u32 = 32;
const MAX_E = 128u;
var<workgroup> part: array<f32, 2048>; // [expert][invocation]: E * WG <= 2048 (WG 16 above 64 experts)
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = wid.x + wid.y * nwg.x;
  if (t >= p.T) { return; } // uniform across the workgroup
  let o = t * p.E;
  if (p.stage == 0u) {
    let xo = t * p.D;
    var ss = 0.0;
    for (var i = lid.x; i < p.D; i += WG) { ss += x[xo + i] * x[xo + i]; }
    red[lid.x] = ss;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      if (lid.x < s) { red[lid.x] += red[lid.x + s]; }
      workgroupBarrier();
    }
    let scale = 1.0 / sqrt(red[0] / f32(p.D) + p.eps);
    for (var e = 0u; e < p.E; e++) { part[e * WG + lid.x] = 0.0; }
    for (var i = lid.x; i < p.D; i += WG) {
      let v = g[i] * (x[xo + i] * scale);
      xn[xo + i] = v;
      for (var e = 0u; e < p.E; e++) { part[e * WG + lid.x] += v * gate[e * p.D + i]; }
    }
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      if (lid.x < s) {
        for (var e = 0u; e < p.E; e++) { part[e * WG + lid.x] += part[e * WG + lid.x + s]; }
      }
      workgroupBarrier();
    }
  }
  if (lid.x != 0u) { return; }
  if (p.stage == 0u) {
    for (var e = 0u; e < p.E; e++) { logits[o + e] = part[e * WG] + bitcast<f32>(rules[e]); }
  }
  route(t);
}

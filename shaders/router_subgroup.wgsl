// The MoE router of each token, fused with what feeds it, on adapters with `subgroups`: the same
// contract as router.wgsl (RMSNorm of x into xn, the gate, the bias, softmax, top K, forced
// experts; `stage` 1 or 2 reruns the tail), with a subgroup per token instead of a workgroup: its
// lanes sum the squares of x, then write xn and keep the E dot products, each reduced with
// subgroupAdd; lane 0 then runs the tail (lib/route.wgsl). No workgroup barriers. Workgroup
// g = wid.x + wid.y * nwg.x covers RPW tokens (WG / the smallest subgroup size).
// Twin: the router of engine/cpu/forward.ts (routerTwin in engine/webgpu/twins.ts).
// Bindings: as router.wgsl.
enable subgroups;
diagnostic(off, subgroup_uniformity);

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

override WG: u32 = 128;
override RPW: u32 = 32;
const MAX_E = 128u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) lanes: u32) {
  let gi = wid.x + wid.y * nwg.x;
  for (var r = li / lanes; r < RPW; r += WG / lanes) {
    let t = gi * RPW + r;
    if (t >= p.T) { break; }
    if (p.stage == 0u) {
      let xo = t * p.D;
      var ss = 0.0;
      for (var i = lane; i < p.D; i += lanes) { ss += x[xo + i] * x[xo + i]; }
      let scale = 1.0 / sqrt(subgroupAdd(ss) / f32(p.D) + p.eps);
      var acc: array<f32, MAX_E>;
      for (var i = lane; i < p.D; i += lanes) {
        let v = g[i] * (x[xo + i] * scale);
        xn[xo + i] = v;
        for (var e = 0u; e < p.E; e++) { acc[e] += v * gate[e * p.D + i]; }
      }
      for (var e = 0u; e < p.E; e++) {
        let s = subgroupAdd(acc[e]);
        if (lane == 0u) { logits[t * p.E + e] = s + bitcast<f32>(rules[e]); }
      }
    }
    if (lane == 0u) { route(t); }
  }
}

// The MoE router for each token, after the gate matmul: add the router bias, softmax over the
// experts that are not ablated, take the top K (ties to the lower index), renormalise their
// weights to sum to 1, then apply forced-expert rules. Writes the biased logits back (so the
// hook sees what the router used), the probabilities, and the choice.
// Bindings: params, bias (E), ablated (E, 1 = never route), rules (see below),
//           logits (T, E) in/out, probs (T, E) out, idx (T, K) out, weights (T, K) out.
// rules: [count, then per rule: allPositions, nPositions, hasWeights, experts[K], weightBits[K], positions[nPositions]]
// (positions are absolute; the first matching rule wins, as in the CPU engine).
struct Params { T: u32, E: u32, K: u32, pos0: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read> ablated: array<u32>;
@group(0) @binding(3) var<storage, read> rules: array<u32>;
@group(0) @binding(4) var<storage, read_write> logits: array<f32>;
@group(0) @binding(5) var<storage, read_write> probs: array<f32>;
@group(0) @binding(6) var<storage, read_write> idx: array<u32>;
@group(0) @binding(7) var<storage, read_write> weights: array<f32>;

override WG: u32 = 64;
const MAX_E = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * WG;
  if (t >= p.T) { return; }
  let o = t * p.E;
  var m = -3.4028234663852886e38;
  for (var e = 0u; e < p.E; e++) {
    let l = logits[o + e] + bias[e];
    logits[o + e] = l;
    if (ablated[e] == 0u) { m = max(m, l); }
  }
  var sum = 0.0;
  for (var e = 0u; e < p.E; e++) {
    let v = select(exp(logits[o + e] - m), 0.0, ablated[e] != 0u);
    probs[o + e] = v;
    sum += v;
  }
  for (var e = 0u; e < p.E; e++) { probs[o + e] = probs[o + e] / sum; }
  // Logits that are not numbers (NaN, or an infinity that makes exp(inf - inf)) leave a sum whose
  // exponent bits are all ones (it cannot be infinite: each term is at most 1): the weights are
  // then NaN, so the output says so rather than route silently to the first experts. Bits, not
  // x != x, which a compiler may assume false.
  let notNumbers = (bitcast<u32>(sum) & 0x7f800000u) == 0x7f800000u;

  // top-K by repeated selection: E is small (8 for Mixtral)
  var taken: array<bool, MAX_E>;
  var total = 0.0;
  for (var k = 0u; k < p.K; k++) {
    var best = 0u;
    var bestP = -1.0;
    for (var e = 0u; e < p.E; e++) {
      let pe = select(probs[o + e], -1.0, ablated[e] != 0u);
      if (!taken[e] && pe > bestP) { best = e; bestP = pe; }
    }
    taken[best] = true;
    idx[t * p.K + k] = best;
    weights[t * p.K + k] = bestP;
    total += bestP;
  }

  // forced experts
  let pos = p.pos0 + t;
  var at = 1u;
  for (var r = 0u; r < rules[0]; r++) {
    let all = rules[at] != 0u;
    let n = rules[at + 1u];
    let hasWeights = rules[at + 2u] != 0u;
    let experts = at + 3u;
    let wts = experts + p.K;
    let positions = wts + p.K;
    var hit = all;
    for (var i = 0u; i < n; i++) { if (rules[positions + i] == pos) { hit = true; } }
    if (hit) {
      total = 0.0;
      for (var k = 0u; k < p.K; k++) {
        let e = rules[experts + k];
        idx[t * p.K + k] = e;
        let w = select(probs[o + e], bitcast<f32>(rules[wts + k]), hasWeights);
        weights[t * p.K + k] = w;
        total += w;
      }
      if (hasWeights) { return; } // given weights are used as they are
      break;
    }
    at = positions + n;
  }
  for (var k = 0u; k < p.K; k++) {
    let w = select(1.0 / f32(p.K), weights[t * p.K + k] / total, total > 0.0);
    weights[t * p.K + k] = select(w, sum, notNumbers); // sum is that NaN: a constant NaN is not valid WGSL
  }
}

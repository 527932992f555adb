// The router's tail for one token, after its logits: softmax over the experts that are not
// ablated (stage <= 1), top K by repeated selection (ties to the lower index), the forced-expert
// rules and the weights: renormalised to sum to 1, or (renorm 0: norm_topk_prob false) the
// probabilities themselves. Granite's top-k-then-softmax gives the same experts and weights as
// softmax-then-top-k renormalised, so it runs here as that. Run by one invocation per token;
// prepended to router.wgsl and router_subgroup.wgsl by engine/webgpu/shaders.ts (they declare
// p, step, rules, logits, probs and choice, and MAX_E). The rules' layout is in router.wgsl.
fn route(t: u32) {
  let o = t * p.E;
  let ablated = p.E; // where the ablated flags start in rules
  var sum = 0.0;
  if (p.stage <= 1u) {
    var m = -3.4028234663852886e38;
    for (var e = 0u; e < p.E; e++) { if (rules[ablated + e] == 0u) { m = max(m, logits[o + e]); } }
    for (var e = 0u; e < p.E; e++) {
      let v = select(exp(logits[o + e] - m), 0.0, rules[ablated + e] != 0u);
      probs[o + e] = v;
      sum += v;
    }
    for (var e = 0u; e < p.E; e++) { probs[o + e] = probs[o + e] / sum; }
  } else {
    // Probabilities a hook gave: their sum only says whether they are all numbers.
    for (var e = 0u; e < p.E; e++) { if (rules[ablated + e] == 0u) { sum += probs[o + e]; } }
  }
  // Logits (or given probabilities) that are not numbers (NaN, or an infinity that makes
  // exp(inf - inf)) leave a sum whose exponent bits are all ones: the weights are then NaN, so
  // the output says so rather than route silently to the first experts (as the CPU engine does).
  // Bits, not x != x, which a compiler may assume false.
  let notNumbers = (bitcast<u32>(sum) & 0x7f800000u) == 0x7f800000u;

  // top-K by repeated selection: E is small (8 for Mixtral, at most MAX_E)
  let wo = p.T * p.K; // where the weights start in choice
  var taken: array<bool, MAX_E>;
  var total = 0.0;
  for (var k = 0u; k < p.K; k++) {
    var best = 0u;
    var bestP = -1.0;
    for (var e = 0u; e < p.E; e++) {
      let pe = select(probs[o + e], -1.0, rules[ablated + e] != 0u);
      if (!taken[e] && pe > bestP) { best = e; bestP = pe; }
    }
    taken[best] = true;
    choice[t * p.K + k] = best;
    choice[wo + t * p.K + k] = bitcast<u32>(bestP);
    total += bestP;
  }

  // forced experts
  let pos = step.pos0 + t;
  var at = 2u * p.E + 1u;
  for (var r = 0u; r < rules[2u * p.E]; r++) {
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
        choice[t * p.K + k] = e;
        let w = select(probs[o + e], bitcast<f32>(rules[wts + k]), hasWeights);
        choice[wo + t * p.K + k] = bitcast<u32>(w);
        total += w;
      }
      if (hasWeights) { return; } // given weights are used as they are
      break;
    }
    at = positions + n;
  }
  if (p.renorm == 0u) { return; } // the probabilities as they are (forced experts' too, as on the CPU)
  for (var k = 0u; k < p.K; k++) {
    let w = bitcast<f32>(choice[wo + t * p.K + k]);
    let r = select(1.0 / f32(p.K), w / total, total > 0.0);
    choice[wo + t * p.K + k] = bitcast<u32>(select(r, sum, notNumbers)); // sum is that NaN: a constant NaN is not valid WGSL
  }
}

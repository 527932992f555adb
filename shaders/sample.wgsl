// The next token, picked on the GPU, and the next-token candidates: what a decode step reads
// back instead of the logits. The procedure is engine/sampling.ts's, step for step (its CPU twin:
// pickToken and topTokens), and exact: integer sums and comparisons of floats decide everything,
// so the GPU and the CPU engine pick the same token for the same seed, bit for bit.
// 1. m = the largest logit; greedy (temperature 0): the token is the first index holding it.
// 2. Order: logits from largest to smallest (by the bits of the float, -0 as +0), ties to the
//    lower id. Weights: w = table[floor((m - l) * c)] with c = fround(1024 / temperature) from
//    the host (a float subtraction and multiplication, each correctly rounded on both sides), and
//    table[q] = round(2^30 exp(-(q + 0.5) / 1024)); 0 once (m - l) >= dmax or past the table.
// 3. top-k: the first k of the order; top-p: within them, the shortest prefix of the order whose
//    weight exceeds floor(mass * P / 2^32), P = floor(topP * 2^32). Both prefixes are found by a
//    radix select on the order's keys (4 rounds of 8 bits, 64-bit integer sums per bucket), then
//    by id among equal keys.
// 4. The draw: u = floor(mass * x / 2^32) with x the draw-th output of mulberry32(seed); the token
//    is the first id, walking the candidate set in id order, whose running weight exceeds u.
// 5. Candidates: the first n of the order, with their weights at temperature 1 and the mass of all
//    weights at temperature 1 (the host divides: probability = w / mass).
// A logit that is NaN or +Infinity leaves no token: 0xffffffff, past the vocabulary, which the
// host reports (engine/generation/finite.ts), as the CPU's sampler refuses such logits.
// The token is also written to ids[0], the next call's input: a decode step can be submitted
// before the host has read this one (session.ts: forwardPicked).
// One workgroup of WG invocations, each scanning a contiguous chunk of the vocabulary.
// Bindings: params, step {draw}, logits (this row from `row`), table, out, ids out.
// out: [token, n, mass lo, mass hi, ids (n), weights (n)].
struct Params {
  V: u32, row: u32, greedy: u32, topK: u32, hasTopP: u32, topP: u32, c: f32, dmax: f32,
  seed: u32, nCand: u32, c1: f32, dmax1: f32, tableLen: u32,
}
struct Step { pos0: u32, S: u32, splits: u32, draw: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read_write> logits: array<f32>;
@group(0) @binding(3) var<storage, read> table: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;
@group(0) @binding(5) var<storage, read_write> ids: array<u32>;

override WG: u32 = 256;
override ARGMAX_ONLY: bool = false;
const MAX_CAND = 64u;
var<workgroup> hLo: array<atomic<u32>, 256>; // a radix round's histogram: 64-bit sums per bucket
var<workgroup> hHi: array<atomic<u32>, 256>;
var<workgroup> sLo: array<u32, WG>;           // per-invocation 64-bit sums
var<workgroup> sHi: array<u32, WG>;
var<workgroup> bestV: array<f32, WG>;
var<workgroup> bestI: array<u32, WG>;
var<workgroup> decided: array<u32, 8>;         // what invocation 0 decided, for everyone
var<workgroup> found: atomic<u32>;
var<workgroup> notNumbers: atomic<u32>;       // 1 when a logit is NaN or +Infinity
var<workgroup> candId: array<u32, MAX_CAND>;
var<workgroup> candKey: array<u32, MAX_CAND>;

// ---- exact arithmetic: 64-bit sums as (lo, hi), comparisons of float bits

fn add64(a: vec2u, b: vec2u) -> vec2u {
  let lo = a.x + b.x;
  return vec2u(lo, a.y + b.y + select(0u, 1u, lo < b.x));
}
fn gt64(a: vec2u, b: vec2u) -> bool { return a.y > b.y || (a.y == b.y && a.x > b.x); }

// floor(a * b / 2^32) for a < 2^48: 16-bit digits, so no partial product overflows.
fn mulFrac(a: vec2u, b: u32) -> vec2u {
  let av = array<u32, 3>(a.x & 0xffffu, a.x >> 16u, a.y & 0xffffu);
  let bv = array<u32, 2>(b & 0xffffu, b >> 16u);
  var d = array<u32, 6>(0u, 0u, 0u, 0u, 0u, 0u);
  for (var i = 0u; i < 3u; i++) {
    for (var j = 0u; j < 2u; j++) {
      let prod = av[i] * bv[j];
      d[i + j] += prod & 0xffffu;
      d[i + j + 1u] += prod >> 16u;
    }
  }
  for (var k = 0u; k < 5u; k++) { d[k + 1u] += d[k] >> 16u; d[k] &= 0xffffu; }
  return vec2u(d[2] | (d[3] << 16u), d[4] | (d[5] << 16u));
}

// The order of logits as an unsigned key: larger float, larger key; -0 as +0.
fn keyOf(v: f32) -> u32 {
  var u = bitcast<u32>(v);
  if (u == 0x80000000u) { u = 0u; }
  return select(u | 0x80000000u, ~u, (u & 0x80000000u) != 0u);
}

// The weight of logit v below the largest m (see 2. above).
fn weightOf(v: f32, m: f32, c: f32, dmax: f32) -> u32 {
  let d = m - v;
  if (!(d < dmax)) { return 0u; }
  let q = u32(floor(d * c));
  if (q >= p.tableLen) { return 0u; }
  return table[q];
}

// The draw-th output of mulberry32(seed), as engine/sampling.ts's seededRandom makes it.
fn mulberry(seed: u32, draw: u32) -> u32 {
  var t = seed + (draw + 1u) * 0x6d2b79f5u;
  t = (t ^ (t >> 15u)) * (t | 1u);
  t ^= t + (t ^ (t >> 7u)) * (t | 61u);
  return t ^ (t >> 14u);
}

fn logit(e: u32) -> f32 { return logits[p.row + e]; }

// Element e is in the prefix of the order that ends at (key k, id i).
fn inPrefix(key: u32, e: u32, k: u32, i: u32) -> bool { return key > k || (key == k && e <= i); }

// A measure of element e: 1 (counting), or its weight at temperature `c`.
fn measure(e: u32, byWeight: bool, m: f32) -> u32 {
  if (byWeight) { return weightOf(logit(e), m, p.c, p.dmax); }
  return 1u;
}

// The sum over the workgroup of each invocation's 64-bit `v`.
fn sum64(v: vec2u, lid: u32) -> vec2u {
  sLo[lid] = v.x;
  sHi[lid] = v.y;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let r = add64(vec2u(sLo[lid], sHi[lid]), vec2u(sLo[lid + s], sHi[lid + s]));
      sLo[lid] = r.x;
      sHi[lid] = r.y;
    }
    workgroupBarrier();
  }
  let r = vec2u(sLo[0], sHi[0]);
  workgroupBarrier();
  return r;
}

// The weight of the prefix (k, i) of the order, at temperature c.
fn prefixMass(k: u32, i: u32, m: f32, c: f32, dmax: f32, lid: u32, lo: u32, hi: u32) -> vec2u {
  var s = vec2u(0u);
  for (var e = lo; e < hi; e++) {
    let v = logit(e);
    if (inPrefix(keyOf(v), e, k, i)) { s = add64(s, vec2u(weightOf(v, m, c, dmax), 0u)); }
  }
  return sum64(s, lid);
}

// The shortest prefix of the order whose measure exceeds `goal`: its last element's (key, id),
// left in decided[0], decided[1].
fn selectPrefix(byWeight: bool, goal: vec2u, m: f32, lid: u32, lo: u32, hi: u32) {
  var prefix = 0u;
  var acc = vec2u(0u);
  for (var r = 0u; r < 4u; r++) {
    let shift = 24u - 8u * r;
    let mask = select(0xffffffffu << ((shift + 8u) & 31u), 0u, r == 0u);
    for (var b = lid; b < 256u; b += WG) { atomicStore(&hLo[b], 0u); atomicStore(&hHi[b], 0u); }
    workgroupBarrier();
    for (var e = lo; e < hi; e++) {
      let key = keyOf(logit(e));
      if ((key & mask) != (prefix & mask)) { continue; }
      let w = measure(e, byWeight, m);
      if (w == 0u) { continue; }
      let b = (key >> shift) & 255u;
      let old = atomicAdd(&hLo[b], w);
      if (old + w < w) { atomicAdd(&hHi[b], 1u); }
    }
    workgroupBarrier();
    if (lid == 0u) {
      var a = acc;
      var b = 255u;
      loop {
        let next = add64(a, vec2u(atomicLoad(&hLo[b]), atomicLoad(&hHi[b])));
        if (gt64(next, goal) || b == 0u) { break; }
        a = next;
        b--;
      }
      decided[0] = prefix | (b << shift);
      decided[1] = a.x;
      decided[2] = a.y;
    }
    workgroupBarrier();
    prefix = decided[0];
    acc = vec2u(decided[1], decided[2]);
    workgroupBarrier();
  }
  // Among the elements with the boundary key, in id order.
  var s = vec2u(0u);
  for (var e = lo; e < hi; e++) {
    if (keyOf(logit(e)) == prefix) { s = add64(s, vec2u(measure(e, byWeight, m), 0u)); }
  }
  sLo[lid] = s.x;
  sHi[lid] = s.y;
  workgroupBarrier();
  if (lid == 0u) {
    var a = acc;
    var at = WG - 1u;
    for (var i = 0u; i < WG; i++) {
      let next = add64(a, vec2u(sLo[i], sHi[i]));
      if (gt64(next, goal)) { at = i; break; }
      a = next;
    }
    decided[3] = at;
    decided[4] = a.x;
    decided[5] = a.y;
    decided[1] = hi; // in case nothing crosses (cannot happen for a goal below the total)
  }
  workgroupBarrier();
  if (lid == decided[3]) {
    var cum = vec2u(decided[4], decided[5]);
    for (var e = lo; e < hi; e++) {
      if (keyOf(logit(e)) != prefix) { continue; }
      cum = add64(cum, vec2u(measure(e, byWeight, m), 0u));
      if (gt64(cum, goal)) { decided[1] = e; break; }
    }
  }
  workgroupBarrier(); // decided[0] still holds the boundary key from the last round
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid3: vec3u) {
  let lid = lid3.x;
  let chunk = (p.V + WG - 1u) / WG;
  let lo = min(p.V, lid * chunk);
  let hi = min(p.V, lo + chunk);

  // 1. the largest logit, first index holding it
  var v = -3.4028234663852886e38;
  var at = 0xffffffffu;
  for (var e = lo; e < hi; e++) {
    let x = logit(e);
    if (x > v || at == 0xffffffffu) { v = x; at = e; }
    // Exponent bits all ones, not -Infinity. Bits, not x != x, which a compiler may assume false.
    let b = bitcast<u32>(x);
    if ((b & 0x7f800000u) == 0x7f800000u && b != 0xff800000u) { atomicOr(&notNumbers, 1u); }
  }
  bestV[lid] = v;
  bestI[lid] = at;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = bestV[lid + s];
      let oi = bestI[lid + s];
      if (oi != 0xffffffffu && (bestI[lid] == 0xffffffffu || ov > bestV[lid] || (ov == bestV[lid] && oi < bestI[lid]))) { bestV[lid] = ov; bestI[lid] = oi; }
    }
    workgroupBarrier();
  }
  let m = bestV[0];
  var token = bestI[0];
  if (atomicLoad(&notNumbers) != 0u) { token = 0xffffffffu; }
  if (ARGMAX_ONLY) {
    if (lid == 0u) { out[0] = token; ids[0] = token; out[1] = 0u; }
    return;
  }
  workgroupBarrier();

  if (p.greedy == 0u) {
    // 3. the candidate set: a prefix (key k, id i) of the order; everything by default
    var k = 0u;
    var i = 0xffffffffu;
    if (p.topK > 0u && p.topK < p.V) {
      selectPrefix(false, vec2u(p.topK - 1u, 0u), m, lid, lo, hi);
      k = decided[0];
      i = decided[1];
      workgroupBarrier();
    }
    if (p.hasTopP != 0u) {
      let need = mulFrac(prefixMass(k, i, m, p.c, p.dmax, lid, lo, hi), p.topP);
      selectPrefix(true, need, m, lid, lo, hi);
      k = decided[0];
      i = decided[1];
      workgroupBarrier();
    }
    // 4. the draw, walking the set in id order
    let u = mulFrac(prefixMass(k, i, m, p.c, p.dmax, lid, lo, hi), mulberry(p.seed, step.draw));
    var s = vec2u(0u);
    for (var e = lo; e < hi; e++) {
      let x = logit(e);
      if (inPrefix(keyOf(x), e, k, i)) { s = add64(s, vec2u(weightOf(x, m, p.c, p.dmax), 0u)); }
    }
    sLo[lid] = s.x;
    sHi[lid] = s.y;
    workgroupBarrier();
    if (lid == 0u) {
      var a = vec2u(0u);
      var who = WG - 1u;
      for (var j = 0u; j < WG; j++) {
        let next = add64(a, vec2u(sLo[j], sHi[j]));
        if (gt64(next, u)) { who = j; break; }
        a = next;
      }
      decided[3] = who;
      decided[4] = a.x;
      decided[5] = a.y;
      decided[6] = token; // the largest logit: where rounding could leave nothing (it cannot: see sampling.ts)
    }
    workgroupBarrier();
    if (lid == decided[3]) {
      var cum = vec2u(decided[4], decided[5]);
      for (var e = lo; e < hi; e++) {
        let x = logit(e);
        if (!inPrefix(keyOf(x), e, k, i)) { continue; }
        cum = add64(cum, vec2u(weightOf(x, m, p.c, p.dmax), 0u));
        if (gt64(cum, u)) { decided[6] = e; break; }
      }
    }
    workgroupBarrier();
    token = select(decided[6], 0xffffffffu, atomicLoad(&notNumbers) != 0u);
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[0] = token;
    ids[0] = token;
    out[1] = 0u;
  }

  // 5. the candidates: the first nCand of the order, sorted, with their weights at temperature 1
  if (p.nCand == 0u) { return; }
  let n = min(p.nCand, p.V);
  var k = 0u;
  var i = 0xffffffffu;
  if (n < p.V) {
    selectPrefix(false, vec2u(n - 1u, 0u), m, lid, lo, hi);
    k = decided[0];
    i = decided[1];
  }
  if (lid == 0u) { atomicStore(&found, 0u); }
  workgroupBarrier();
  for (var e = lo; e < hi; e++) {
    let key = keyOf(logit(e));
    if (!inPrefix(key, e, k, i)) { continue; }
    let slot = atomicAdd(&found, 1u);
    if (slot < MAX_CAND) { candId[slot] = e; candKey[slot] = key; }
  }
  let mass = prefixMass(0u, 0xffffffffu, m, p.c1, p.dmax1, lid, lo, hi);
  if (lid != 0u) { return; }
  // insertion sort of n entries by (key desc, id asc)
  for (var a = 1u; a < n; a++) {
    let ka = candKey[a];
    let ia = candId[a];
    var b = a;
    while (b > 0u && (candKey[b - 1u] < ka || (candKey[b - 1u] == ka && candId[b - 1u] > ia))) {
      candKey[b] = candKey[b - 1u];
      candId[b] = candId[b - 1u];
      b--;
    }
    candKey[b] = ka;
    candId[b] = ia;
  }
  out[1] = n;
  out[2] = mass.x;
  out[3] = mass.y;
  for (var a = 0u; a < n; a++) {
    out[4u + a] = candId[a];
    out[4u + n + a] = weightOf(logit(candId[a]), m, p.c1, p.dmax1);
  }
}

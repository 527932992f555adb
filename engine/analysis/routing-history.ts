// How routing is learnt: statistics of the held-out sets' top-k routing recorded at checkpoints of
// a training run (training/routing_history.py writes them to training/data/routing-history/).
//
// Definitions are the OLMoE paper's (Muennighoff et al. 2024, arXiv:2409.02060, section 5):
// - router saturation at checkpoint t, eq. 5: the mean over tokens i of |E_i(t) ∩ E_i(T)| / k,
//   where E_i(t) is the set of the k best experts of token i at t and T is the final checkpoint;
//   with k = 1 (only the expert of highest probability) it is the first-choice agreement.
//   Random routing gives k / E.
// - domain specialisation of expert e for domain D, eq. 7: the share of D's tokens that have e
//   among their top k. Over the E experts it sums to k; a router blind to the domain gives k / E.
//
// Legend: D domains, L layers, T tokens per domain, K experts chosen per token (stored), E experts.
// A checkpoint's choices are uint8 (D, L, T, K), best first.

export interface RoutingShape {
  domains: number;
  layers: number;
  tokens: number;
  /** Experts stored per token (the model's top-k). */
  k: number;
  experts: number;
}

export interface HistoryCheckpoint {
  step: number;
  /** Percent of the run's steps. */
  percent: number;
  tokensTrained: number;
  /** Held-out loss per domain (nats/token over the whole held-out set). */
  heldoutLoss: Record<string, number>;
  file: string;
  /** (D, L, T, K) expert ids, best first. */
  choices: Uint8Array;
}

export interface RoutingHistory {
  shape: RoutingShape;
  /** Domain names in the order of the choices' first axis. */
  domains: string[];
  /** By step, ascending; the last is the "final" checkpoint every saturation is measured against. */
  checkpoints: HistoryCheckpoint[];
  /** The run's schedule as index.json records it (steps, batch, context, ...). */
  run: Record<string, unknown>;
}

const offset = (s: RoutingShape, d: number, l: number, t: number) => ((d * s.layers + l) * s.tokens + t) * s.k;

function checkK(s: RoutingShape, k: number): void {
  if (!Number.isInteger(k) || k < 1 || k > s.k) throw new RangeError(`k=${k} must be an integer in 1..${s.k} (the experts stored per token)`);
}

function checkLength(s: RoutingShape, a: Uint8Array, what: string): void {
  const n = s.domains * s.layers * s.tokens * s.k;
  if (a.length !== n) throw new RangeError(`${what} holds ${a.length} expert ids, expected ${n} = ${s.domains} domains x ${s.layers} layers x ${s.tokens} tokens x ${s.k}`);
}

/**
 * Router saturation per layer (OLMoE eq. 5): the mean over every token of every domain of the
 * share of its top-`k` experts at checkpoint `at` that are also among its top-`k` at `final`.
 * `k` = 1 gives the first-choice agreement.
 */
export function routerSaturation(at: Uint8Array, final: Uint8Array, shape: RoutingShape, k = shape.k): number[] {
  checkK(shape, k);
  checkLength(shape, at, 'the checkpoint');
  checkLength(shape, final, 'the final checkpoint');
  const N = shape.domains * shape.tokens;
  return Array.from({ length: shape.layers }, (_, l) => {
    let common = 0;
    for (let d = 0; d < shape.domains; d++) {
      for (let t = 0; t < shape.tokens; t++) {
        const o = offset(shape, d, l, t);
        for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) if (at[o + i] === final[o + j]) { common++; break; }
      }
    }
    return N ? common / (N * k) : 0;
  });
}

/** Saturation of a router that picks k of E experts at random: k / E. */
export const randomSaturation = (experts: number, k: number): number => k / experts;

/**
 * Domain specialisation (OLMoE eq. 7), [layer][domain][expert]: the share of the domain's tokens
 * that have the expert among their top `k`. Each domain's shares sum to k.
 */
export function domainSpecialisation(choices: Uint8Array, shape: RoutingShape, k = shape.k): number[][][] {
  checkK(shape, k);
  checkLength(shape, choices, 'the checkpoint');
  return Array.from({ length: shape.layers }, (_, l) => Array.from({ length: shape.domains }, (_, d) => {
    const count = new Array<number>(shape.experts).fill(0);
    for (let t = 0; t < shape.tokens; t++) {
      const o = offset(shape, d, l, t);
      for (let i = 0; i < k; i++) count[choices[o + i]]++;
    }
    return count.map((c) => (shape.tokens ? c / shape.tokens : 0));
  }));
}

/**
 * How far the domains' expert mixes are from each other at one layer: the mean over domains of
 * the total variation distance between the domain's mix (its shares divided by k, so they sum to
 * 1) and the mean mix of all domains. 0 when every domain uses the experts alike; at most
 * 1 - 1/D. `shares` is [domain][expert] as domainSpecialisation gives for one layer.
 */
export function domainDivergence(shares: number[][], k: number): number {
  if (!shares.length) return 0;
  const E = shares[0].length;
  const mean = Array.from({ length: E }, (_, e) => shares.reduce((s, row) => s + row[e], 0) / shares.length);
  const tv = shares.map((row) => row.reduce((s, x, e) => s + Math.abs(x - mean[e]), 0) / (2 * k));
  return tv.reduce((a, b) => a + b, 0) / tv.length;
}

/**
 * Share of first choices per expert, [layer][expert], pooled over all domains (sums to 1): the
 * utilisation the model card's 3%..35% criterion is about.
 */
export function firstChoiceShare(choices: Uint8Array, shape: RoutingShape): number[][] {
  return domainSpecialisation(choices, shape, 1).map((byDomain) =>
    Array.from({ length: shape.experts }, (_, e) => byDomain.reduce((s, row) => s + row[e], 0) / byDomain.length));
}

interface IndexJson {
  domains: string[]; layers: number; k: number; experts: number; tokens_per_domain: number;
  run?: Record<string, unknown>;
  checkpoints: { step: number; percent: number; tokens_trained: number; file: string; heldout_loss: Record<string, number> }[];
}

const isCount = (x: unknown): x is number => Number.isInteger(x) && (x as number) > 0;

/**
 * Check index.json and the checkpoint files against each other and return the history, sorted by
 * step. `file(name)` gives a checkpoint file's bytes. Errors name the file and what is wrong.
 */
export function readRoutingHistory(index: unknown, file: (name: string) => Uint8Array): RoutingHistory {
  const ix = index as Partial<IndexJson> | null;
  if (!ix || typeof ix !== 'object') throw new TypeError('routing-history index.json is not an object');
  for (const key of ['layers', 'k', 'experts', 'tokens_per_domain'] as const) {
    if (!isCount(ix[key])) throw new TypeError(`routing-history index.json: "${key}" must be a positive integer, got ${JSON.stringify(ix[key])}`);
  }
  if (!Array.isArray(ix.domains) || !ix.domains.length) throw new TypeError('routing-history index.json: "domains" must be a non-empty list');
  if (!Array.isArray(ix.checkpoints) || !ix.checkpoints.length) throw new TypeError('routing-history index.json: "checkpoints" must be a non-empty list');
  if (ix.experts! > 256) throw new RangeError(`routing-history index.json: ${ix.experts} experts do not fit the uint8 files`);
  const shape: RoutingShape = { domains: ix.domains.length, layers: ix.layers!, tokens: ix.tokens_per_domain!, k: ix.k!, experts: ix.experts! };
  const checkpoints = [...ix.checkpoints].sort((a, b) => a.step - b.step).map((c) => {
    if (!c || !isCount(c.step) || typeof c.file !== 'string') throw new TypeError(`routing-history index.json: a checkpoint needs a positive "step" and a "file", got ${JSON.stringify(c)}`);
    const choices = file(c.file);
    checkLength(shape, choices, c.file);
    const bad = choices.findIndex((e) => e >= shape.experts);
    if (bad >= 0) throw new RangeError(`${c.file}: expert id ${choices[bad]} at byte ${bad} is outside 0..${shape.experts - 1}`);
    return { step: c.step, percent: c.percent, tokensTrained: c.tokens_trained, heldoutLoss: c.heldout_loss ?? {}, file: c.file, choices };
  });
  return { shape, domains: [...ix.domains], checkpoints, run: ix.run ?? {} };
}

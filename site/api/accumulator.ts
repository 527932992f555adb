// Builds the cumulative state of a generation from the worker's per-step payloads, so a cell
// always sees the whole sequence so far (tokens, routing of every layer, attention on demand).
// Nothing is rebuilt per step: routing grows in buffers of doubling capacity (a snapshot holds
// views of them), and attention rows stay in the chunks they arrived in, read row by row.
import type { MixtralConfig } from '../../engine/config.ts';
import type { HookValue } from '../../engine/hooks/request.ts';
import type { Finish } from '../../engine/generate.ts';
import type { AttentionData, LayerRouting, NextTokenData, RoutingData, TokenInfo } from '../../viz/types.ts';
import type { StepPayload, TracePayload } from './protocol.ts';
import type { LensLayer } from '../../engine/lens/logit-lens.ts';
import type { GenerationState, Trace } from './types.ts';
import { isMoeLayer } from '../../engine/family.ts';
import { denseLayerRouting } from '../../engine/routing/routing.ts';

/** Per-layer routing of a growing sequence. */
class RoutingColumns {
  private layers: LayerRouting[] = [];
  private length = 0;
  private capacity = 0;
  private readonly K: number;
  private readonly E: number;

  constructor(private readonly config: MixtralConfig) {
    this.K = config.num_experts_per_tok;
    this.E = config.num_local_experts;
  }

  /** Routing of T more tokens. */
  append(routing: readonly LayerRouting[], T: number): void {
    const { K, E } = this;
    if (this.length + T > this.capacity) {
      this.capacity = Math.max(64, 2 * this.capacity, this.length + T);
      this.layers = Array.from({ length: this.config.num_hidden_layers }, (_, l) => {
        // A dense layer routes nothing: it stays as layerRouting gives it (no arrays to grow).
        if (!isMoeLayer(this.config.family, l)) return denseLayerRouting();
        const old = this.layers[l];
        const L = { indices: new Int32Array(this.capacity * K), weights: new Float32Array(this.capacity * K), probs: new Float32Array(this.capacity * E) };
        if (old) { L.indices.set(old.indices.subarray(0, this.length * K)); L.weights.set(old.weights.subarray(0, this.length * K)); L.probs.set(old.probs.subarray(0, this.length * E)); }
        return L;
      });
    }
    routing.forEach((r, l) => {
      const L = this.layers[l];
      if (L.dense) return;
      L.indices.set(r.indices, this.length * K);
      L.weights.set(r.weights, this.length * K);
      L.probs.set(r.probs, this.length * E);
    });
    this.length += T;
  }

  /** The routing of the first tokens.length tokens: views, which later appends leave as they are. */
  data(tokens: TokenInfo[]): RoutingData {
    const n = tokens.length, { K, E } = this;
    const layers = this.layers.map((L) => (L.dense ? L : { indices: L.indices.subarray(0, n * K), weights: L.weights.subarray(0, n * K), probs: L.probs.subarray(0, n * E) }));
    return { tokens, experts: E, topK: K, layers };
  }
}

interface Chunk { position: number; T: number; S: number; pattern: Float32Array }

/** Attention rows as they arrive: per layer, chunks of (H, T, S) for queries from `position`. */
class AttentionRows {
  private readonly chunks: Chunk[][];
  /** The chunk (same index in every layer) that holds query q's row. */
  private readonly chunkOf: number[] = [];
  /** One identity per layer: rows seen in one snapshot are the same in every later one. */
  private readonly sequences: object[];

  constructor(private readonly config: MixtralConfig) {
    this.chunks = Array.from({ length: config.num_hidden_layers }, () => []);
    this.sequences = this.chunks.map(() => ({}));
  }

  append(position: number, T: number, patterns: readonly Float32Array[] | undefined): void {
    if (!patterns) return;
    patterns.forEach((pattern, l) => this.chunks[l].push({ position, T, S: position + T, pattern }));
    for (let t = 0; t < T; t++) this.chunkOf[position + t] = this.chunks[0].length - 1;
  }

  /** Layer `layer` over the first tokens.length tokens, read row by row (no (H, N, N) copy unless `pattern` is read). */
  data(layer: number, tokens: TokenInfo[]): AttentionData {
    const c = this.config;
    if (!Number.isInteger(layer) || layer < 0 || layer >= c.num_hidden_layers) {
      throw new RangeError(`layer must be 0..${c.num_hidden_layers - 1}, got ${layer}`);
    }
    const chunks = this.chunks[layer], chunkOf = this.chunkOf;
    const row = (h: number, q: number): Float32Array => {
      const ch = chunks[chunkOf[q]];
      const at = (h * ch.T + q - ch.position) * ch.S;
      return ch.pattern.subarray(at, at + q + 1);
    };
    const N = tokens.length, H = c.num_attention_heads;
    let dense: Float32Array | null = null;
    return {
      tokens, layer, heads: H, kvHeads: c.num_key_value_heads, slidingWindow: c.sliding_window ?? null,
      row, sequence: this.sequences[layer],
      // (H, N, N), assembled once, only for a reader of the whole array (a notebook cell, an export).
      get pattern() {
        if (!dense) {
          dense = new Float32Array(H * N * N);
          for (let h = 0; h < H; h++) for (let q = 0; q < N; q++) dense.set(row(h, q), (h * N + q) * N);
        }
        return dense;
      },
    };
  }

  get empty(): boolean { return this.chunks.every((x) => x.length === 0); }
}

export class GenerationAccumulator {
  private tokens: TokenInfo[] = [];
  private routedCount = 0;
  private promptTokens = 0;
  private readonly routing: RoutingColumns;
  private readonly attention: AttentionRows;
  private next: NextTokenData = { position: -1, candidates: [] };
  private hooks: Record<string, HookValue> = {};
  private finish: Finish | undefined;
  private tps = 0;
  private text = '';
  private steps = 0;
  /** The logit lens of every routed token, per layer (with the `lens` option). */
  private lens: LensLayer[] | null = null;
  /** What the last snapshot held, for a stop to go back to. */
  private shown: { tokens: number; routed: number; text: string; steps: number; next: NextTokenData; hooks: Record<string, HookValue>; tps: number } | null = null;

  constructor(private readonly config: MixtralConfig) {
    this.routing = new RoutingColumns(config);
    this.attention = new AttentionRows(config);
  }

  apply(p: StepPayload): void {
    const position = this.routedCount;
    if (this.tokens.length === 0) { this.tokens.push(...p.fed); this.promptTokens = p.fed.length; }
    this.routing.append(p.routing, p.fed.length);
    this.attention.append(position, p.fed.length, p.attention);
    this.routedCount += p.fed.length;
    if (p.lens) {
      this.lens ??= p.lens.map(() => ({ resid: [], experts: [] }));
      p.lens.forEach((L, l) => { this.lens![l].resid.push(...L.resid); this.lens![l].experts.push(...L.experts); });
    }
    if (p.sampled) {
      this.tokens.push(p.sampled);
      this.text += p.sampled.text;
      this.steps++;
    }
    if (p.next) this.next = p.next;
    this.hooks = p.hooks;
    this.tps = p.tokensPerSecond;
    if (p.finish) this.finish = p.finish;
  }

  /**
   * Ends the state early (a stop from the page): the worker's later payloads are ignored, and the
   * state goes back to the last one a reader was shown, so tokens that arrived between that frame
   * and the click (computed, but not yet drawn) never appear after Stop.
   */
  stop(): void {
    if (this.finish !== undefined) return;
    this.finish = 'stopped';
    const shown = this.shown;
    if (!shown) return;
    this.tokens.length = shown.tokens;
    this.routedCount = shown.routed;
    this.text = shown.text;
    this.steps = shown.steps;
    this.next = shown.next;
    this.hooks = shown.hooks;
    this.tps = shown.tps;
  }

  get done(): boolean { return this.finish !== undefined; }

  snapshot(): GenerationState {
    this.shown = { tokens: this.tokens.length, routed: this.routedCount, text: this.text, steps: this.steps, next: this.next, hooks: this.hooks, tps: this.tps };
    const routed = this.tokens.slice(0, this.routedCount);
    const attention = this.attention;
    return {
      tokens: this.tokens.slice(), promptTokens: this.promptTokens, text: this.text, step: this.steps,
      done: this.done, finish: this.finish,
      routing: this.routing.data(routed),
      attention: (layer: number) => attention.data(layer, routed),
      next: this.next, hooks: this.hooks, tokensPerSecond: this.tps,
      ...(this.lens ? { lens: { tokens: routed, layers: this.lens.map((L) => ({ resid: L.resid.slice(), experts: L.experts.slice() })) } } : {}),
    };
  }
}

export function buildTrace(config: MixtralConfig, p: TracePayload): Trace {
  const routing = new RoutingColumns(config);
  routing.append(p.routing, p.tokens.length);
  const attention = new AttentionRows(config);
  attention.append(0, p.tokens.length, p.attention);
  let sum = 0, n = 0;
  for (const x of p.loss) if (Number.isFinite(x)) { sum += x; n++; }
  return {
    tokens: p.tokens,
    routing: routing.data(p.tokens),
    attention: (layer: number) => {
      if (attention.empty) throw new Error('this trace was made with attention: false');
      return attention.data(layer, p.tokens);
    },
    loss: p.loss,
    meanLoss: n ? sum / n : NaN,
  };
}

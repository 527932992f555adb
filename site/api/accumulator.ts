// Builds the cumulative state of a generation from the worker's per-step payloads, so a cell
// always sees the whole sequence so far (tokens, routing of every layer, attention on demand).
import type { MixtralConfig } from '../../engine/config.ts';
import type { AttentionData, LayerRouting, NextTokenData, RoutingData, TokenInfo } from '../../viz/types.ts';
import type { LayerStep, RawHook, StepPayload, TracePayload } from './protocol.ts';
import type { GenerationState, Trace } from './types.ts';

/** Growing per-layer routing arrays. */
class RoutingColumns {
  private indices: Int32Array[] = [];
  private weights: Float32Array[] = [];
  private probs: Float32Array[] = [];

  constructor(private readonly config: MixtralConfig) {
    const L = config.num_hidden_layers;
    this.indices = Array.from({ length: L }, () => new Int32Array(0));
    this.weights = Array.from({ length: L }, () => new Float32Array(0));
    this.probs = Array.from({ length: L }, () => new Float32Array(0));
  }

  append(layers: LayerStep[]): void {
    layers.forEach((s, l) => {
      this.indices[l] = concat(this.indices[l], s.indices);
      this.weights[l] = concat(this.weights[l], s.weights);
      this.probs[l] = concat(this.probs[l], s.probs);
    });
  }

  data(tokens: TokenInfo[]): RoutingData {
    const layers: LayerRouting[] = this.indices.map((_, l) => ({ indices: this.indices[l], weights: this.weights[l], probs: this.probs[l] }));
    return { tokens, experts: this.config.num_local_experts, topK: this.config.num_experts_per_tok, layers };
  }
}

/** Attention rows as they arrive: per layer, chunks of (H, T, S) for queries from `position`. */
class AttentionRows {
  private chunks: { position: number; T: number; S: number; pattern: Float32Array }[][];

  constructor(private readonly config: MixtralConfig) {
    this.chunks = Array.from({ length: config.num_hidden_layers }, () => []);
  }

  append(position: number, T: number, layers: LayerStep[]): void {
    layers.forEach((s, l) => { if (s.pattern) this.chunks[l].push({ position, T, S: position + T, pattern: s.pattern }); });
  }

  /** (H, N, N) for the first N tokens. */
  assemble(layer: number, tokens: TokenInfo[]): AttentionData {
    const c = this.config;
    if (!Number.isInteger(layer) || layer < 0 || layer >= c.num_hidden_layers) {
      throw new RangeError(`layer must be 0..${c.num_hidden_layers - 1}, got ${layer}`);
    }
    const N = tokens.length;
    const H = c.num_attention_heads;
    const pattern = new Float32Array(H * N * N);
    for (const ch of this.chunks[layer]) {
      for (let h = 0; h < H; h++) {
        for (let t = 0; t < ch.T; t++) {
          const q = ch.position + t;
          if (q >= N) continue;
          const row = ch.pattern.subarray((h * ch.T + t) * ch.S, (h * ch.T + t) * ch.S + Math.min(ch.S, N));
          pattern.set(row, (h * N + q) * N);
        }
      }
    }
    return { tokens, layer, heads: H, kvHeads: c.num_key_value_heads, pattern, slidingWindow: c.sliding_window ?? null };
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
  private hooks: Record<string, RawHook> = {};
  private finish: GenerationState['finish'];
  private tps = 0;
  private text = '';
  private steps = 0;

  constructor(private readonly config: MixtralConfig) {
    this.routing = new RoutingColumns(config);
    this.attention = new AttentionRows(config);
  }

  apply(p: StepPayload): void {
    const position = this.routedCount;
    if (this.tokens.length === 0) { this.tokens.push(...p.fed); this.promptTokens = p.fed.length; }
    this.routing.append(p.layers);
    this.attention.append(position, p.fed.length, p.layers);
    this.routedCount += p.fed.length;
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

  /** Ends the state early (a stop from the page): the worker's later payloads are ignored. */
  stop(): void { this.finish ??= 'stopped'; }

  get done(): boolean { return this.finish !== undefined; }

  snapshot(): GenerationState {
    const routed = this.tokens.slice(0, this.routedCount);
    const tokens = this.tokens.slice();
    const attention = this.attention;
    return {
      tokens, promptTokens: this.promptTokens, text: this.text, step: this.steps,
      done: this.done, finish: this.finish,
      routing: this.routing.data(routed),
      attention: (layer: number) => attention.assemble(layer, routed),
      next: this.next, hooks: this.hooks, tokensPerSecond: this.tps,
    };
  }
}

export function buildTrace(config: MixtralConfig, p: TracePayload): Trace {
  const routing = new RoutingColumns(config);
  routing.append(p.layers);
  const attention = new AttentionRows(config);
  attention.append(0, p.tokens.length, p.layers);
  let sum = 0, n = 0;
  for (const x of p.loss) if (Number.isFinite(x)) { sum += x; n++; }
  return {
    tokens: p.tokens,
    routing: routing.data(p.tokens),
    attention: (layer: number) => {
      if (attention.empty) throw new Error('this trace was made with attention: false');
      return attention.assemble(layer, p.tokens);
    },
    loss: p.loss,
    meanLoss: n ? sum / n : NaN,
  };
}

function concat<T extends Int32Array | Float32Array>(a: T, b: T): T {
  const out = new (a.constructor as new (n: number) => T)(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

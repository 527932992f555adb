// What quantizing the weights does to routing: for each format against a reference format, on a
// text, the change in loss (nats/token), the share of positions whose next-token argmax is
// unchanged, and per layer the share of tokens whose top-k expert set and whose first choice are
// unchanged. The router's gate stays float32 in every format (quant/quantize-weights.ts); what
// moves routing is everything before it. Used by bench/quant-routing.ts and by the site's worker
// (the notebook "What quantization does to routing"). Browser- and Node-safe.
import { CpuEngine } from '../cpu/engine.ts';
import type { CpuWeights } from '../cpu/stored-weights.ts';
import type { MixtralConfig } from '../config.ts';
import type { WeightFormat } from '../footprint/formats.ts';
import { layerRouting, routingHooks, type LayerRouting } from '../routing/routing.ts';
import { convertWeights } from './quantize-weights.ts';

export interface QuantRoutingRow {
  text: string;
  format: WeightFormat;
  /** Positions compared (the text's tokens; loss and argmax over all but the last). */
  tokens: number;
  /** Mean next-token loss of the reference format, and the format's change from it. */
  lossReference: number;
  lossChange: number;
  argmaxAgreement: number;
  /** Per layer; null for a dense layer (no routing). */
  layers: ({ topkSetUnchanged: number; firstUnchanged: number } | null)[];
}

interface Run { loss: Float64Array; argmax: Int32Array; routing: LayerRouting[] }

async function run(c: MixtralConfig, weights: CpuWeights, ids: number[]): Promise<Run> {
  const r = await new CpuEngine(c, weights).forward(ids, { hooks: routingHooks(), output: 'all' });
  const V = c.vocab_size;
  const loss = new Float64Array(ids.length - 1), argmax = new Int32Array(ids.length - 1);
  for (let t = 0; t + 1 < ids.length; t++) {
    const row = r.logits.subarray(t * V, (t + 1) * V);
    let max = -Infinity, best = 0;
    for (let v = 0; v < V; v++) if (row[v] > max) { max = row[v]; best = v; }
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(row[v] - max);
    loss[t] = Math.log(sum) + max - row[ids[t + 1]];
    argmax[t] = best;
  }
  return { loss, argmax, routing: layerRouting(c, r.hooks) };
}

const mean = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0) / a.length;

export interface QuantRoutingOptions {
  /** The format compared against (default 'f16': a 16-bit checkpoint's own weights). */
  reference?: WeightFormat;
  /** Called after each forward: a worker yields here so a stop gets in. */
  onStep?: (done: number, total: number) => Promise<void> | void;
  signal?: AbortSignal;
}

/**
 * Rows per text and format. Weights are converted once per format; each text is run once in the
 * reference and once per format (at least two tokens each).
 */
export async function quantRouting(c: MixtralConfig, weights: CpuWeights, texts: { name: string; ids: number[] }[], formats: WeightFormat[], o: QuantRoutingOptions = {}): Promise<QuantRoutingRow[]> {
  const reference = o.reference ?? 'f16';
  const K = c.num_experts_per_tok;
  const total = texts.length * (formats.length + 1);
  let done = 0;
  const step = async () => { done++; await o.onStep?.(done, total); o.signal?.throwIfAborted(); };
  const inFormat = new Map<WeightFormat, CpuWeights>([[reference, convertWeights(weights, c, reference)]]);
  const refs: Run[] = [];
  for (const t of texts) {
    if (t.ids.length < 2) throw new RangeError(`quantRouting: "${t.name}" has ${t.ids.length} token(s); at least 2 are needed`);
    refs.push(await run(c, inFormat.get(reference)!, t.ids));
    await step();
  }
  const rows: QuantRoutingRow[] = [];
  for (const f of formats) {
    const w = inFormat.get(f) ?? convertWeights(weights, c, f);
    for (const [i, t] of texts.entries()) {
      const ref = refs[i], q = await run(c, w, t.ids);
      await step();
      const n = t.ids.length;
      const layers = ref.routing.map((L, l) => {
        if (L.dense) return null;
        let set = 0, first = 0;
        for (let p = 0; p < n; p++) {
          const a = Array.from(L.indices.subarray(p * K, (p + 1) * K)), b = Array.from(q.routing[l].indices.subarray(p * K, (p + 1) * K));
          if (a.every((e) => b.includes(e))) set++;
          if (a[0] === b[0]) first++;
        }
        return { topkSetUnchanged: set / n, firstUnchanged: first / n };
      });
      rows.push({
        text: t.name, format: f, tokens: n,
        lossReference: mean(ref.loss), lossChange: mean(q.loss) - mean(ref.loss),
        argmaxAgreement: mean(Array.from(ref.argmax, (a, j) => (a === q.argmax[j] ? 1 : 0))),
        layers,
      });
    }
  }
  return rows;
}

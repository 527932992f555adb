// What quantizing the weights does to routing, on the CPU engine: for q8 and q4 against the
// checkpoint's own f16, per held-out domain (training/data/heldout/), the change in loss
// (nats/token), the share of positions whose next-token argmax is unchanged, and per layer the
// share of tokens whose top-k expert set and whose first choice are unchanged. The router's gate
// stays float32 in every format; what moves routing is everything before it.
// Usage: npx tsx bench/quant-routing.ts [--model DIR] [--tokens N]   (one line of JSON, then a Markdown table)
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { CpuEngine } from '../engine/cpu/engine.ts';
import { loadStoredCheckpoint } from '../engine/checkpoint/load-stored.ts';
import { directorySource } from '../engine/node.ts';
import { MixscopeTokenizer } from '../engine/tokenizer.ts';
import { convertWeights } from '../engine/quant/quantize-weights.ts';
import { layerRouting, routingHooks, type LayerRouting } from '../engine/routing/routing.ts';
import type { WeightFormat } from '../engine/footprint/formats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { model: { type: 'string' }, tokens: { type: 'string' } } });
const dir = values.model ?? path.join(ROOT, 'models/mixscope-tiny');
const ckpt = await loadStoredCheckpoint(directorySource(dir));
const c = ckpt.config;
const tokenizer = new MixscopeTokenizer(ckpt.tokenizerJson);
const T = Math.min(Number(values.tokens ?? 256), c.max_position_embeddings);
const heldout = path.join(ROOT, 'training/data/heldout');
const domains = readdirSync(heldout).filter((f) => f.endsWith('.txt')).sort().map((f) => ({
  name: f.replace(/\.txt$/, ''), ids: tokenizer.encode(readFileSync(path.join(heldout, f), 'utf8').slice(0, 8 * T)).ids.slice(0, T),
}));

interface Run { loss: Float64Array; argmax: Int32Array; routing: LayerRouting[] }
async function run(format: WeightFormat, ids: number[]): Promise<Run> {
  const engine = new CpuEngine(c, format === 'f16' ? ckpt.weights : convertWeights(ckpt.weights, c, format));
  const r = await engine.forward(ids, { hooks: routingHooks(), output: 'all' });
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

const K = c.num_experts_per_tok;
const mean = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0) / a.length;
const rows: Record<string, unknown>[] = [];
const formats: WeightFormat[] = ['q8', 'q4'];
for (const d of domains) {
  const ref = await run('f16', d.ids);
  for (const f of formats) {
    const q = await run(f, d.ids);
    const n = d.ids.length;
    const layers = ref.routing.map((L, l) => {
      let set = 0, first = 0;
      for (let t = 0; t < n; t++) {
        const a = Array.from(L.indices.subarray(t * K, (t + 1) * K)), b = Array.from(q.routing[l].indices.subarray(t * K, (t + 1) * K));
        if (a.every((e) => b.includes(e))) set++;
        if (a[0] === b[0]) first++;
      }
      return { topk_set_unchanged: set / n, first_unchanged: first / n };
    });
    rows.push({
      domain: d.name, format: f, tokens: n,
      loss_f16: mean(ref.loss), loss_change: mean(q.loss) - mean(ref.loss),
      argmax_agreement: mean(Array.from(ref.argmax, (a, i) => (a === q.argmax[i] ? 1 : 0))),
      layers,
    });
  }
}
console.log(JSON.stringify({ model: path.relative(ROOT, dir) || dir, tokens_per_domain: T, rows }));
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
console.log('\n| domain | format | loss f16 | loss change | argmax same | top-k set same (min over layers) | first choice same (min over layers) |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows as { domain: string; format: string; loss_f16: number; loss_change: number; argmax_agreement: number; layers: { topk_set_unchanged: number; first_unchanged: number }[] }[]) {
  const minSet = Math.min(...r.layers.map((l) => l.topk_set_unchanged)), minFirst = Math.min(...r.layers.map((l) => l.first_unchanged));
  console.log(`| ${r.domain} | ${r.format} | ${r.loss_f16.toFixed(3)} | ${r.loss_change >= 0 ? '+' : ''}${r.loss_change.toFixed(4)} | ${pct(r.argmax_agreement)} | ${pct(minSet)} | ${pct(minFirst)} |`);
}

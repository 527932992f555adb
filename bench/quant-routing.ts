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
import { loadStoredCheckpoint } from '../engine/checkpoint/load-stored.ts';
import { directorySource } from '../engine/node.ts';
import { MixscopeTokenizer } from '../engine/tokenizer.ts';
import { quantRouting } from '../engine/quant/quant-routing.ts';

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

// By domain, then format, as engine/quant/quant-routing.ts computes them (the router stays float32).
const rows = (await quantRouting(c, ckpt.weights, domains, ['q8', 'q4'])).sort((a, b) => a.text.localeCompare(b.text))
  .map((r) => ({
    domain: r.text, format: r.format, tokens: r.tokens, loss_f16: r.lossReference, loss_change: r.lossChange, argmax_agreement: r.argmaxAgreement,
    layers: r.layers.filter((l) => l !== null).map((l) => ({ topk_set_unchanged: l.topkSetUnchanged, first_unchanged: l.firstUnchanged })),
  }));
console.log(JSON.stringify({ model: path.relative(ROOT, dir) || dir, tokens_per_domain: T, rows }));
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
console.log('\n| domain | format | loss f16 | loss change | argmax same | top-k set same (min over layers) | first choice same (min over layers) |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows as { domain: string; format: string; loss_f16: number; loss_change: number; argmax_agreement: number; layers: { topk_set_unchanged: number; first_unchanged: number }[] }[]) {
  const minSet = Math.min(...r.layers.map((l) => l.topk_set_unchanged)), minFirst = Math.min(...r.layers.map((l) => l.first_unchanged));
  console.log(`| ${r.domain} | ${r.format} | ${r.loss_f16.toFixed(3)} | ${r.loss_change >= 0 ? '+' : ''}${r.loss_change.toFixed(4)} | ${pct(r.argmax_agreement)} | ${pct(minSet)} | ${pct(minFirst)} |`);
}

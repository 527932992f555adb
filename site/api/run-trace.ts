// Whole-text analysis: one forward over a text with routing, attention and the loss of every
// next-token prediction, computed where the logits are so that (T, V) logits never travel.
import type { Engine } from '../../engine/engine.ts';
import type { MixscopeTokenizer } from '../../engine/tokenizer.ts';
import { promptIds } from '../../engine/generation/prompt.ts';
import { TokenTexts, specialIds } from '../../engine/generation/token-texts.ts';
import { layerRouting, routingHooks } from '../../engine/routing/routing.ts';
import type { TraceRequestOptions, TracePayload } from './protocol.ts';
import { ATTENTION_HOOKS, attentionPatterns } from './generation-payloads.ts';

export async function runTrace(engine: Engine, tokenizer: MixscopeTokenizer | null, text: string | readonly number[], o: TraceRequestOptions): Promise<TracePayload> {
  const config = engine.config;
  const ids = promptIds(config, tokenizer, text, 'forward');
  const attention = o.attention ?? true;
  const r = await engine.forward(ids, { hooks: [...routingHooks(), ...(attention ? ATTENTION_HOOKS : [])], interventions: o.interventions, output: 'all' });
  const V = config.vocab_size;
  const loss = new Float32Array(ids.length).fill(NaN);
  for (let t = 0; t + 1 < ids.length; t++) loss[t] = crossEntropy(r.logits, t * V, V, ids[t + 1]);
  const texts = new TokenTexts(tokenizer, specialIds(config));
  const tokens = ids.map((id, i) => texts.push(id, i, false));
  if (tokens.length) tokens[tokens.length - 1].text += texts.flush();
  return { tokens, routing: layerRouting(config, r.hooks), attention: attention ? attentionPatterns(config, r.hooks) : undefined, loss };
}

/** -log softmax(logits)[target], in float64 with the max subtracted. */
export function crossEntropy(logits: Float32Array, offset: number, V: number, target: number): number {
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[offset + i] > max) max = logits[offset + i];
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp(logits[offset + i] - max);
  return Math.log(sum) + max - logits[offset + target];
}

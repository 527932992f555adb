// Whole-text analysis: one forward over a text with routing, attention and the loss of every
// next-token prediction, computed where the logits are so that (T, V) logits never travel.
import type { Engine } from '../../engine/engine.ts';
import type { MixscopeTokenizer } from '../../engine/tokenizer.ts';
import { RequestError } from '../../engine/errors.ts';
import type { TraceRequestOptions, TracePayload } from './protocol.ts';
import { layerSteps, routingHooks } from './layer-steps.ts';
import { TokenTexts } from './token-info.ts';
import { specialIds } from './run-generation.ts';

export async function runTrace(engine: Engine, tokenizer: MixscopeTokenizer | null, text: string | readonly number[], o: TraceRequestOptions): Promise<TracePayload> {
  let ids: number[];
  if (typeof text === 'string') {
    if (!text) throw new RequestError('the text is empty');
    if (!tokenizer) throw new RequestError('this checkpoint has no tokenizer.json: give token ids instead of text');
    ids = tokenizer.encode(text).ids;
  } else ids = [...text];
  if (ids.length === 0) throw new RequestError('the text is empty');
  const max = engine.config.max_position_embeddings;
  if (ids.length > max) throw new RequestError(`the text is ${ids.length} tokens long; this model reads at most ${max} at once (split it)`);
  const attention = o.attention ?? true;
  const r = await engine.forward(ids, { hooks: routingHooks(attention), interventions: o.interventions, output: 'all' });
  const V = engine.config.vocab_size;
  const loss = new Float32Array(ids.length).fill(NaN);
  for (let t = 0; t + 1 < ids.length; t++) loss[t] = crossEntropy(r.logits, t * V, V, ids[t + 1]);
  const texts = new TokenTexts(tokenizer, specialIds(engine));
  const tokens = ids.map((id, i) => texts.push(id, i, false));
  if (tokens.length) tokens[tokens.length - 1].text += texts.flush();
  return { tokens, layers: layerSteps(engine.config, r.hooks, attention), loss };
}

/** -log softmax(logits)[target], in float64 with the max subtracted. */
export function crossEntropy(logits: Float32Array, offset: number, V: number, target: number): number {
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (logits[offset + i] > max) max = logits[offset + i];
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp(logits[offset + i] - max);
  return Math.log(sum) + max - logits[offset + target];
}

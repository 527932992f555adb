// One generation as a stream of payloads: the prompt's forward, then one forward per sampled
// token, then a closing forward that routes the last sampled token too, so every token on the
// page has its routing. Runs wherever the engine runs (the worker; Node in tests).
import type { Engine } from '../../engine/engine.ts';
import type { MixscopeTokenizer } from '../../engine/tokenizer.ts';
import { RequestError } from '../../engine/errors.ts';
import { createSampler, softmax } from '../../engine/sampling.ts';
import { resolveHookNames } from '../../engine/hooks/request.ts';
import type { NextTokenData, TokenInfo } from '../../viz/types.ts';
import type { GenerateRequestOptions, StepPayload } from './protocol.ts';
import { layerSteps, rawHooks, routingHooks } from './layer-steps.ts';
import { TokenTexts } from './token-info.ts';

export interface GenerationControl {
  /** True once the caller asked to stop; checked between tokens. */
  stopped(): boolean;
  /** Lets other work (a stop message) in between tokens. */
  yieldToEvents(): Promise<void>;
}

/** Token ids of a prompt; `longText` allows texts longer than the model reads at once (for analyses that window them). */
export function encodePrompt(engine: Engine, tokenizer: MixscopeTokenizer | null, prompt: string | readonly number[], { longText = false } = {}): number[] {
  let ids: number[];
  if (typeof prompt === 'string') {
    if (prompt.length === 0) throw new RequestError('the prompt is empty: type some text to continue');
    if (!tokenizer) throw new RequestError('this checkpoint has no tokenizer.json: give token ids instead of text');
    ids = tokenizer.encode(prompt).ids;
  } else {
    ids = [...prompt];
    if (ids.length === 0) throw new RequestError('the prompt is empty: give at least one token id');
  }
  const max = engine.config.max_position_embeddings;
  if (!longText && ids.length >= max) {
    throw new RequestError(`the prompt is ${ids.length} tokens long; this model reads at most ${max - 1} before generating (shorten it)`);
  }
  return ids;
}

export function specialIds(engine: Engine): Set<number> {
  return new Set([engine.config.bos_token_id, engine.config.eos_token_id].filter((x): x is number => typeof x === 'number'));
}

export function nextTokenData(logits: Float32Array, count: number, position: number, tokenizer: MixscopeTokenizer | null, chosen: number): NextTokenData {
  const p = softmax(logits);
  const ids = topIndices(p, count);
  return {
    position,
    candidates: ids.map((id) => {
      const piece = tokenizer?.idToToken(id) ?? String(id);
      const text = tokenizer ? tokenizer.decode([id], { skipSpecialTokens: false }) : piece;
      return { id, piece, text, prob: p[id] };
    }),
    chosen,
  };
}

function topIndices(p: Float64Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < p.length; i++) {
    if (best.length < k || p[i] > p[best[best.length - 1]]) {
      let j = Math.min(best.length, k - 1);
      best[j] = i;
      while (j > 0 && p[best[j - 1]] < p[best[j]]) { [best[j - 1], best[j]] = [best[j], best[j - 1]]; j--; }
    }
  }
  return best;
}

export async function* runGeneration(
  engine: Engine, tokenizer: MixscopeTokenizer | null, prompt: string | readonly number[],
  o: GenerateRequestOptions, control: GenerationControl,
): AsyncGenerator<StepPayload, void, void> {
  const promptIds = encodePrompt(engine, tokenizer, prompt);
  const maxTokens = o.maxTokens ?? 64;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RequestError(`maxTokens must be a positive integer, got ${maxTokens}`);
  const config = engine.config;
  // The closing forward needs one more position than the tokens generated.
  const budget = Math.min(maxTokens, config.max_position_embeddings - promptIds.length - 1);
  if (budget < 1) throw new RequestError(`the prompt leaves no room to generate within ${config.max_position_embeddings} positions`);
  const attention = o.attention ?? true;
  const extra = resolveHookNames(config, o.hooks ?? []);
  const hooks = [...routingHooks(attention), ...extra];
  const sample = createSampler(o);
  const texts = new TokenTexts(tokenizer, specialIds(engine));
  const session = engine.createSession();
  const request = { hooks, interventions: o.interventions };
  const eos = config.eos_token_id;

  let fed: TokenInfo[] = promptIds.map((id, i) => texts.push(id, i, false));
  let decodeTokens = 0;
  let decodeMs = 0;
  for (let index = 0; index < budget; index++) {
    const t0 = performance.now();
    const result = await session.forward(fed.map((t) => t.id), request);
    if (index > 0) { decodeMs += performance.now() - t0; decodeTokens++; }
    const token = sample(result.logits);
    const position = result.position + fed.length;
    const sampled = texts.push(token, position, true);
    const finish = token === eos ? 'eos' : index === budget - 1 ? 'length' : control.stopped() ? 'stopped' : undefined;
    const payload: StepPayload = {
      fed, layers: layerSteps(config, result.hooks, attention), sampled,
      next: nextTokenData(result.logits, o.candidates ?? 10, position - 1, tokenizer, token),
      hooks: rawHooks(result.hooks, extra),
      tokensPerSecond: decodeMs > 0 ? (1000 * decodeTokens) / decodeMs : 0,
    };
    if (finish) {
      sampled.text += texts.flush();
      yield payload;
      // Route the last token too, so every token shown has its experts.
      const last = await session.forward([token], request);
      yield { fed: [sampled], layers: layerSteps(config, last.hooks, attention), hooks: rawHooks(last.hooks, extra), finish, tokensPerSecond: payload.tokensPerSecond };
      return;
    }
    yield payload;
    fed = [sampled];
    await control.yieldToEvents();
  }
}

// Generation as an async iterator: one step per token, each with its text piece and the hook
// data that was asked for, so a caller (a chart, a notebook cell) can draw as tokens arrive.
import type { Engine, ForwardRequest } from './engine.ts';
import type { HookValue } from './hooks/request.ts';
import type { MixscopeTokenizer } from './tokenizer.ts';
import { RequestError } from './errors.ts';
import { createSampler, type SamplingOptions } from './sampling.ts';

export interface GenerateOptions extends SamplingOptions {
  maxTokens?: number;
  hooks?: ForwardRequest['hooks'];
  interventions?: ForwardRequest['interventions'];
  /** Stop at the end-of-sequence token (default true). */
  stopAtEos?: boolean;
  signal?: AbortSignal;
  /**
   * Give every step its logits. By default a greedy run (temperature 0 or unset) on an engine that
   * can pick the token itself (WebGPU: argmax on the GPU) reads back only the token id, and its
   * steps carry empty logits; sampling, and the CPU engine, always fill them.
   */
  logits?: boolean;
}

export interface GenerateStep {
  /** 0 for the first generated token. */
  index: number;
  token: number;
  /** The token's piece as the vocabulary spells it (e.g. "▁the", "<0xE2>"). */
  piece: string;
  /** Whole characters completed by this token (may be empty while a character is incomplete). */
  text: string;
  /** Tokens fed to the model in this step: the prompt for step 0, the previous token after. */
  inputIds: number[];
  /** Absolute position of inputIds[0]. */
  position: number;
  /** Logits (V) the token was chosen from; empty (length 0) for a greedy run on the GPU unless `logits: true` was asked. */
  logits: Float32Array;
  hooks: Map<string, HookValue>;
  /** Set on the last step: why generation stopped. */
  finish?: 'length' | 'eos' | 'aborted';
}

export interface GenerateInput {
  engine: Engine;
  tokenizer?: MixscopeTokenizer;
  /** Text prompt (needs a tokenizer) or token ids. */
  prompt: string | readonly number[];
}

export async function* generate(input: GenerateInput, o: GenerateOptions = {}): AsyncGenerator<GenerateStep, void, void> {
  const { engine, tokenizer } = input;
  const config = engine.config;
  let promptIds: number[];
  if (typeof input.prompt === 'string') {
    if (!tokenizer) throw new RequestError('a text prompt needs a tokenizer (this checkpoint has no tokenizer.json); pass token ids instead');
    if (input.prompt.length === 0) throw new RequestError('the prompt is empty: type some text to continue');
    promptIds = tokenizer.encode(input.prompt).ids;
  } else {
    promptIds = [...input.prompt];
    if (promptIds.length === 0) throw new RequestError('the prompt is empty: give at least one token id');
  }
  const maxTokens = o.maxTokens ?? 64;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RequestError(`maxTokens must be a positive integer, got ${maxTokens}`);
  if (promptIds.length >= config.max_position_embeddings) {
    throw new RequestError(`the prompt is ${promptIds.length} tokens long; this model reads at most ${config.max_position_embeddings - 1} before generating`);
  }
  const budget = Math.min(maxTokens, config.max_position_embeddings - promptIds.length);
  const sample = createSampler(o);
  const decoder = tokenizer?.streamDecoder(promptIds);
  const session = engine.createSession();
  const request: ForwardRequest = { hooks: o.hooks, interventions: o.interventions };
  const eos = o.stopAtEos === false ? null : config.eos_token_id;
  const greedy = !o.temperature || o.temperature <= 0;
  const onDevice = greedy && o.logits !== true && engine.backend === 'webgpu';
  const step = async (ids: number[]) => {
    const r = await session.forward(ids, { ...request, output: onDevice ? 'argmax' : 'last' });
    return { token: onDevice ? r.token : sample(r.logits), logits: r.logits, hooks: r.hooks, position: r.position };
  };

  let inputIds = promptIds;
  try {
    for (let index = 0; index < budget; index++) {
      if (o.signal?.aborted) return;
      const result = await step(inputIds);
      const token = result.token;
      const isEos = token === eos;
      let text = isEos || !decoder ? '' : decoder.push(token);
      let finish: GenerateStep['finish'];
      if (isEos) finish = 'eos';
      else if (index === budget - 1) finish = 'length';
      if (finish && decoder) text += decoder.flush();
      yield {
        index, token, piece: tokenizer?.idToToken(token) ?? String(token), text,
        inputIds, position: result.position, logits: result.logits, hooks: result.hooks, finish,
      };
      if (finish) return;
      inputIds = [token];
    }
  } finally {
    session.dispose();
  }
}

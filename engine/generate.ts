// The generation loop, the one every caller uses (the CLI's `generate`, the site's worker, the
// bench): an async iterator with one step per token, each with its text, the hook data and
// routing asked for, the next-token candidates and the speed so far, so a caller can draw as
// tokens arrive.
//
// 1. Check the prompt (engine/generation/prompt.ts) and the budget: at most `maxTokens`, and
//    never past the model's window (P positions: a prompt of n tokens leaves room for P - n).
// 2. Open a session; feed the prompt, then each chosen token. Ask the engine for the argmax
//    alone ('argmax' output: 4 bytes read back on the GPU) when nothing needs the logits. An
//    engine that picks tokens on the device (its sessions have forwardPicked: WebGPU) draws them
//    there with the same procedure (engine/sampling.ts) and returns the candidates, and each
//    next step is submitted before the current one is read, fed the token the device picked.
// 3. Each step says why it ended the generation, if it did: 'eos', 'length', 'context',
//    'stopped' (the signal was aborted; it is looked at between tokens). A forward whose expert
//    weights or logits are not finite numbers ends it with a NonFiniteError, never a token.
// 4. With `routeLast`, one more forward feeds the last token so it has its routing and hooks too.
// 5. The session is disposed on every path: done, error, abort, a consumer that stops iterating.
import type { Engine, ForwardOutput, ForwardRequest, ForwardResult } from './engine.ts';
import { normaliseHookRequest } from './engine.ts';
import type { HookRequest, HookValue } from './hooks/request.ts';
import type { MixscopeTokenizer } from './tokenizer.ts';
import { RequestError } from './errors.ts';
import { createSampler, type SamplingOptions } from './sampling.ts';
import { promptIds } from './generation/prompt.ts';
import { TokenTexts, specialIds, type TokenInfo } from './generation/token-texts.ts';
import { candidatesOf, nextTokenCandidates, type Candidate } from './generation/candidates.ts';
import { checkFinite } from './generation/finite.ts';
import { layerRouting, routingHooks, type LayerRouting } from './routing/routing.ts';

/**
 * Why a generation ended: 'length' (maxTokens reached), 'eos' (the model's end-of-sequence
 * token), 'context' (the model's window is full), 'stopped' (the caller's signal).
 */
export type Finish = 'length' | 'eos' | 'context' | 'stopped';

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most (default 64). */
  maxTokens?: number;
  hooks?: ForwardRequest['hooks'];
  interventions?: ForwardRequest['interventions'];
  /** Stop at the end-of-sequence token (default true). */
  stopAtEos?: boolean;
  /** Looked at between tokens: once aborted, the next step is the last, with finish 'stopped'. */
  signal?: AbortSignal;
  /**
   * Give every step its logits. By default a greedy run (temperature 0 or unset) that asks for no
   * candidates lets the engine pick the token itself (on WebGPU the argmax runs on the GPU and 4
   * bytes come back), and its steps carry empty logits (the CPU engine's keep theirs).
   */
  logits?: boolean;
  /** Give every step the routing of the tokens it fed (`{ logits: true }`: with the gate logits). */
  routing?: boolean | { logits: boolean };
  /** Give every step this many next-token candidates (default 0: none). */
  candidates?: number;
  /** After the last token, one more forward that feeds it, so it has its routing and hooks (default false). */
  routeLast?: boolean;
  /** Read special tokens written in a text prompt ("</s>") as those tokens (default false: they are text). */
  specialTokens?: boolean;
}

/** One forward of the loop: the tokens fed and what was observed. */
export interface FedForward {
  /** The tokens fed, as views show them: the prompt for step 0, then the previous token. */
  fed: TokenInfo[];
  /** Absolute position of fed[0]. */
  position: number;
  hooks: Map<string, HookValue>;
  /** Per layer, the routing of the tokens fed (null unless `routing` was asked for). */
  routing: LayerRouting[] | null;
  /** Milliseconds the forward took. */
  ms: number;
}

export interface GenerateStep extends FedForward {
  /** 0 for the first generated token. */
  index: number;
  token: number;
  /** The token's piece as the vocabulary spells it (e.g. "▁the", "<0xE2>"). */
  piece: string;
  /**
   * Whole characters completed by this token, for the reader's text: may be empty while a
   * character is incomplete; empty for special tokens and without a tokenizer.
   */
  text: string;
  /** The chosen token as views show it (special tokens by their piece). */
  sampled: TokenInfo;
  /** Token ids fed to the model in this step (the ids of `fed`). */
  inputIds: number[];
  /** Logits (V) the token was chosen from; empty (length 0) when the engine picked it alone. */
  logits: Float32Array;
  /** The most likely next tokens after `fed` (empty unless `candidates` was asked for). */
  candidates: Candidate[];
  /** Decode tokens per second so far (every forward after the prompt's). */
  tokensPerSecond: number;
  /** Set on the last step: why generation ended. */
  finish?: Finish;
  /** On the last step with `routeLast`: the forward that fed this step's token. */
  last?: FedForward;
}

export interface GenerateInput {
  engine: Engine;
  tokenizer?: MixscopeTokenizer | null;
  /** Text prompt (needs a tokenizer) or token ids. */
  prompt: string | readonly number[];
}

export async function* generate(input: GenerateInput, o: GenerateOptions = {}): AsyncGenerator<GenerateStep, void, void> {
  const { engine } = input;
  const tokenizer = input.tokenizer ?? null;
  const config = engine.config;
  const ids = promptIds(config, tokenizer, input.prompt, 'generate', { specialTokens: o.specialTokens });
  const maxTokens = o.maxTokens ?? 64;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RequestError(`maxTokens must be a positive integer, got ${maxTokens}`);
  const candidates = o.candidates ?? 0;
  if (!Number.isInteger(candidates) || candidates < 0) throw new RequestError(`candidates must be a non-negative integer, got ${candidates}`);
  // Every generated token gets a position in the model's window.
  const room = config.max_position_embeddings - ids.length;
  const budget = Math.min(maxTokens, room);
  const sample = createSampler(o);
  const greedy = !o.temperature || o.temperature <= 0;
  const output: ForwardOutput = greedy && o.logits !== true && candidates === 0 ? 'argmax' : 'last';
  const routing = o.routing ? { logits: o.routing !== true && o.routing.logits } : null;
  const request = { hooks: withRouting(o.hooks, routing), interventions: o.interventions };
  const eos = o.stopAtEos === false ? null : config.eos_token_id;
  const texts = new TokenTexts(tokenizer, specialIds(config));
  if (o.signal?.aborted) return;

  const session = engine.createSession();
  const onDevice = typeof session.forwardPicked === 'function';
  const out: ForwardOutput = onDevice && o.logits !== true ? 'token' : output;
  const onDeviceRequest = (draw: number): ForwardRequest => (onDevice ? {
    candidates, ...(greedy ? {} : { sample: { temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed, draw } }),
  } : {});
  /** A forward sent: fed `fed`, or (null) the token the device picked last. */
  const send = (fed: TokenInfo[] | null, output: ForwardOutput, draw: number) => {
    const req = { ...request, output, ...onDeviceRequest(draw) };
    // The clock starts before the call: the CPU engine computes the whole forward inside it.
    const t0 = performance.now();
    const result = fed ? session.forward(fed.map((t) => t.id), req) : session.forwardPicked!(req);
    result.catch(() => {}); // a step sent ahead may be dropped unread; its error then matters to nobody
    return { t0, result };
  };
  let arrived = 0; // when the last result came: a step sent ahead takes its time from there
  const receive = async (sent: ReturnType<typeof send>, fed: TokenInfo[]): Promise<FedForward & { result: ForwardResult }> => {
    const result = await sent.result;
    const now = performance.now(), ms = now - Math.max(sent.t0, arrived);
    arrived = now;
    return { fed, position: result.position, hooks: result.hooks, routing: routing ? layerRouting(config, result.hooks, routing) : null, ms, result };
  };
  try {
    let fed = ids.map((id, i) => texts.push(id, i, false));
    let decodeMs = 0;
    let sent = send(fed, out, 0);
    for (let index = 0; index < budget; index++) {
      // On the device the next step goes out before this one is read (dropped if this one is the last).
      const ahead = onDevice && (index + 1 < budget || o.routeLast) ? send(null, out, index + 1) : null;
      const { result, ...forward } = await receive(sent, fed);
      checkFinite(config, forward.position, fed.length, forward.routing, result);
      if (index > 0) decodeMs += forward.ms;
      const token = greedy || onDevice ? result.token : sample(result.logits);
      const position = forward.position + fed.length;
      const sampled = texts.push(token, position, true);
      let text = texts.shownAsPiece(token) ? '' : sampled.text;
      const finish: Finish | undefined = token === eos ? 'eos'
        : index === maxTokens - 1 ? 'length'
        : index === room - 1 ? 'context'
        : o.signal?.aborted ? 'stopped' : undefined;
      if (finish) {
        const rest = texts.flush();
        sampled.text += rest;
        text += rest;
      }
      const step: GenerateStep = {
        ...forward, index, token, piece: sampled.piece, text, sampled, inputIds: fed.map((t) => t.id),
        logits: result.logits,
        candidates: !candidates ? [] : onDevice ? candidatesOf(result.candidates!, tokenizer) : nextTokenCandidates(result.logits, candidates, tokenizer),
        tokensPerSecond: decodeMs > 0 ? (1000 * index) / decodeMs : 0, finish,
      };
      if (finish && o.routeLast) {
        const { result: closing, ...last } = await receive(ahead ?? send([sampled], 'argmax', index + 1), [sampled]);
        checkFinite(config, last.position, 1, last.routing, closing);
        step.last = last;
      }
      yield step;
      if (finish) return;
      fed = [sampled];
      sent = ahead ?? send(fed, out, index + 1);
    }
  } finally {
    session.dispose();
  }
}

/** The caller's hooks plus the routing hooks, when routing is asked for. */
function withRouting(hooks: ForwardRequest['hooks'], routing: { logits: boolean } | null): ForwardRequest['hooks'] {
  if (!routing) return hooks;
  const h: HookRequest = normaliseHookRequest(hooks);
  return { ...h, observe: [...(h.observe ?? []), ...routingHooks(routing)] };
}

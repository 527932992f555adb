// The worker's side of a generation: the engine's generation loop (engine/generate.ts), each step
// turned into the payload the page accumulates. The prompt's forward, one forward per token,
// then the closing forward that routes the last token, so every token on the page has its
// routing. Runs wherever the engine runs (the worker; Node in tests, through this same function).
import type { Engine } from '../../engine/engine.ts';
import type { MixscopeTokenizer } from '../../engine/tokenizer.ts';
import type { HookValue } from '../../engine/hooks/request.ts';
import { resolveHookNames } from '../../engine/hooks/request.ts';
import { generate, type FedForward } from '../../engine/generate.ts';
import type { MixtralConfig } from '../../engine/config.ts';
import type { GenerateRequestOptions, StepPayload } from './protocol.ts';
import { LENS_HOOKS, lensFromHooks, type LensHead } from '../../engine/lens/logit-lens.ts';

export const ATTENTION_HOOKS = ['blocks.*.attn.hook_pattern'];

/** Per layer, the (H, T, S) attention pattern of a forward's queries. */
export function attentionPatterns(config: MixtralConfig, hooks: ReadonlyMap<string, HookValue>): Float32Array[] {
  return Array.from({ length: config.num_hidden_layers }, (_, l) => {
    const p = hooks.get(`blocks.${l}.attn.hook_pattern`);
    if (!p || !('data' in p)) throw new Error(`the forward did not observe the attention pattern of layer ${l}`);
    return p.data;
  });
}

/** The hook values a caller asked for by name, as a plain record (values as the engine gives them). */
export function namedHooks(hooks: ReadonlyMap<string, HookValue>, names: ReadonlySet<string>): Record<string, HookValue> {
  const out: Record<string, HookValue> = {};
  for (const [name, v] of hooks) if (names.has(name)) out[name] = v;
  return out;
}

export async function* generationPayloads(
  engine: Engine, tokenizer: MixscopeTokenizer | null, prompt: string | readonly number[],
  o: GenerateRequestOptions, signal?: AbortSignal,
  /** The final norm and lm_head the `lens` option reads through (lens/logit-lens.ts: lensHead). */
  lensHead?: LensHead,
): AsyncGenerator<StepPayload, void, void> {
  const config = engine.config;
  const attention = o.attention ?? true;
  const extra = resolveHookNames(config, o.hooks ?? []);
  if (o.lens && !lensHead) throw new Error('the lens option needs the model\'s final norm and lm_head');
  const lens = o.lens && lensHead ? { head: lensHead, top: o.lens, hooks: LENS_HOOKS } : null;
  const payload = (f: FedForward, tokensPerSecond: number): StepPayload => ({
    fed: f.fed, routing: f.routing!, attention: attention ? attentionPatterns(config, f.hooks) : undefined,
    hooks: namedHooks(f.hooks, extra), tokensPerSecond,
    ...(lens ? { lens: lensFromHooks(config, lens.head, f.hooks, { top: lens.top, piece: (id) => tokenizer?.idToToken(id) ?? String(id) }) } : {}),
  });
  for await (const step of generate({ engine, tokenizer, prompt }, {
    maxTokens: o.maxTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed,
    interventions: o.interventions, hooks: [...(attention ? ATTENTION_HOOKS : []), ...extra, ...(lens ? lens.hooks : [])],
    routing: true, candidates: o.candidates ?? 10, routeLast: true, signal,
  })) {
    yield {
      ...payload(step, step.tokensPerSecond), sampled: step.sampled,
      next: { position: step.position + step.fed.length - 1, candidates: step.candidates, chosen: step.token },
    };
    if (step.last) yield { ...payload(step.last, step.tokensPerSecond), finish: step.finish };
  }
}

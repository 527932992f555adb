// The CPU engine: the reference forward behind the common Engine interface.
import type { MixtralConfig } from '../config.ts';
import type { CpuWeights } from './stored-weights.ts';
import { RequestError } from '../errors.ts';
import { normaliseHookRequest, type Engine, type EngineSession, type ForwardRequest, type ForwardResult } from '../engine.ts';
import { HookRun } from '../hooks/request.ts';
import { validateInterventions } from '../hooks/interventions.ts';
import { KVCache } from './kv-cache.ts';
import { cpuForward } from './forward.ts';
import { argmax, checkSamplingOptions, pickToken, topTokens } from '../sampling.ts';

export function checkIds(config: MixtralConfig, ids: readonly number[], position: number): void {
  if (ids.length === 0) throw new RequestError('no tokens to run: the input is empty');
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= config.vocab_size) {
      throw new RequestError(`token id ${id} is outside the vocabulary 0..${config.vocab_size - 1}`);
    }
  }
  if (position + ids.length > config.max_position_embeddings) {
    throw new RequestError(`${position + ids.length} positions exceed the model's context of ${config.max_position_embeddings} tokens`);
  }
}

class CpuSession implements EngineSession {
  private cache: KVCache | null;

  constructor(private readonly config: MixtralConfig, private readonly weights: CpuWeights) {
    this.cache = new KVCache(config.num_hidden_layers, config.num_key_value_heads * config.head_dim, config.max_position_embeddings);
  }

  private live(): KVCache {
    if (!this.cache) throw new RequestError('this session was disposed: create a new one');
    return this.cache;
  }

  get position(): number {
    return this.cache?.length ?? 0;
  }

  async forward(ids: readonly number[], request: ForwardRequest = {}): Promise<ForwardResult> {
    const cache = this.live();
    checkIds(this.config, ids, cache.length);
    const interventions = request.interventions ?? [];
    validateInterventions(this.config, interventions);
    const position = cache.length;
    const hooks = new HookRun(this.config, normaliseHookRequest(request.hooks), position);
    const output = request.output ?? 'last';
    const all = output === 'all';
    const V = this.config.vocab_size;
    if (request.sample) checkSamplingOptions(request.sample);
    try {
      const logits = cpuForward(this.config, this.weights, ids, { cache, hooks, interventions, allLogits: all });
      const last = logits.subarray(logits.length - V);
      const token = request.sample ? pickToken(last, request.sample, request.sample.draw) : argmax(last);
      // 'argmax' saves a readback on a GPU; here the last row's logits are already in hand, so they come too.
      return {
        logits, logitsShape: all ? [ids.length, V] : [V], token, hooks: hooks.cache, position,
        ...(request.candidates ? { candidates: topTokens(last, request.candidates) } : {}),
      };
    } catch (e) {
      cache.truncate(position); // a failed call (e.g. a throwing function hook) leaves no trace
      throw e;
    }
  }

  truncate(length: number): void {
    this.live().truncate(length);
  }

  /** Drops the KV cache (the only thing a CPU session holds) so the collector can take it. */
  dispose(): void {
    this.cache = null;
  }

  [Symbol.dispose](): void { this.dispose(); }
  async [Symbol.asyncDispose](): Promise<void> { this.dispose(); }
}

export class CpuEngine implements Engine {
  readonly backend = 'cpu' as const;
  readonly description = 'CPU (reference engine)';

  constructor(readonly config: MixtralConfig, readonly weights: CpuWeights) {}

  createSession(): EngineSession {
    return new CpuSession(this.config, this.weights);
  }

  async forward(ids: readonly number[], request?: ForwardRequest): Promise<ForwardResult> {
    using session = this.createSession();
    return await session.forward(ids, request);
  }

  /** Nothing to release: the weights belong to the caller, sessions to theirs. */
  dispose(): void {}

  [Symbol.dispose](): void { this.dispose(); }
}

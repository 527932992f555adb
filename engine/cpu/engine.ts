// The CPU engine: the reference forward behind the common Engine interface.
import type { MixtralConfig } from '../config.ts';
import type { MixtralWeights } from '../weights.ts';
import { RequestError } from '../errors.ts';
import { normaliseHookRequest, type Engine, type EngineSession, type ForwardRequest, type ForwardResult } from '../engine.ts';
import { HookRun } from '../hooks/request.ts';
import { validateInterventions } from '../hooks/interventions.ts';
import { KVCache } from './kv-cache.ts';
import { cpuForward } from './forward.ts';

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
  private readonly cache: KVCache;

  constructor(private readonly config: MixtralConfig, private readonly weights: MixtralWeights) {
    this.cache = new KVCache(config.num_hidden_layers, config.num_key_value_heads * config.head_dim, config.max_position_embeddings);
  }

  get position(): number {
    return this.cache.length;
  }

  async forward(ids: readonly number[], request: ForwardRequest = {}): Promise<ForwardResult> {
    checkIds(this.config, ids, this.cache.length);
    const interventions = request.interventions ?? [];
    validateInterventions(this.config, interventions);
    const position = this.cache.length;
    const hooks = new HookRun(this.config, normaliseHookRequest(request.hooks), position);
    const all = request.logits === 'all';
    try {
      const logits = cpuForward(this.config, this.weights, ids, { cache: this.cache, hooks, interventions, allLogits: all });
      return {
        logits,
        logitsShape: all ? [ids.length, this.config.vocab_size] : [this.config.vocab_size],
        hooks: hooks.cache,
        position,
      };
    } catch (e) {
      this.cache.truncate(position); // a failed call (e.g. a throwing function hook) leaves no trace
      throw e;
    }
  }

  truncate(length: number): void {
    this.cache.truncate(length);
  }
}

export class CpuEngine implements Engine {
  readonly backend = 'cpu' as const;
  readonly description = 'CPU (reference engine)';

  constructor(readonly config: MixtralConfig, readonly weights: MixtralWeights) {}

  createSession(): EngineSession {
    return new CpuSession(this.config, this.weights);
  }

  forward(ids: readonly number[], request?: ForwardRequest): Promise<ForwardResult> {
    return this.createSession().forward(ids, request);
  }

  dispose(): void {}
}

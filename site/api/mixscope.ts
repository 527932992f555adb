// What a notebook cell sees as `mixscope`: the loaded model and the engine's verbs.
// A new object is made for each loaded model, so cells that use it re-run on a model change.
import { encodePrefix } from './encode-prefix.ts';
import type { Intervention } from '../../engine/hooks/interventions.ts';
import type { MixtralConfig } from '../../engine/config.ts';
import { HOOK_POINTS } from '../../engine/hooks/names.ts';
import type { MixscopeClient, ForwardOutput, LongRequest } from './client.ts';
import type { AnalyzeRequestOptions, ForwardRequestOptions, GenerateRequestOptions, TraceRequestOptions } from './protocol.ts';
import type { ExpertsRequestOptions, ExpertsResult, LensRequestOptions, LensResult, PatchOutcome, PatchRequest } from './protocol.ts';
import type { PatchableHook } from '../../engine/hooks/interventions.ts';
import { compareRuns, type CompareInput, type Comparison } from './compare.ts';
import { layerInput, type LayerInputOptions } from './layer-input.ts';
import { moeLayerIndices } from '../../engine/family.ts';
import type { RoutingAnalysis } from '../../engine/analysis/analyze-routing.ts';
import type { WeightFormat } from '../../engine/footprint/formats.ts';
import type { QuantRoutingRow } from '../../engine/quant/quant-routing.ts';
import type { GenerationState, ModelInfo, Trace } from './types.ts';

export interface MixscopeApi {
  model: ModelInfo & {
    config: MixtralConfig;
    /** `encode(text, {maxTokens: n})`: the first n ids of the text, without tokenizing all of a long one. */
    tokenizer: { encode(text: string, options?: { maxTokens?: number }): number[]; decode(ids: number[]): string; piece(id: number): string } | null;
    /** The layers that route (every layer but a dense one: Qwen's mlp_only_layers, decoder_sparse_step). */
    sparseLayers: number[];
  };
  /**
   * A layer picker: a slider over every layer where every layer routes; otherwise a menu of the
   * layers that route, its label naming the dense ones (layer-input.ts).
   */
  layerInput(options?: LayerInputOptions): HTMLElement;
  /** Every hook name of the model, and the hook points with their shapes and meaning. */
  hookNames: string[];
  hookPoints: typeof HOOK_POINTS;
  /** Streams a generation; without `seed`, a fresh one is drawn (states carry it as `seed`). */
  generate(prompt: string | number[], options?: GenerateRequestOptions): AsyncGenerator<GenerationState, void, void>;
  /** A fresh seed, as `generate` draws when given none. */
  freshSeed(): number;
  forward(input: string | number[], options?: ForwardRequestOptions): Promise<ForwardOutput>;
  trace(text: string | number[], options?: TraceRequestOptions): Promise<Trace>;
  /**
   * Routing statistics of the Mixtral paper's section 5 over a text of any length: per layer the
   * share of first choices and of all top-k choices per expert, and how often consecutive tokens
   * repeat an expert, with the rates random routing would give. Same implementation as the CLI.
   */
  analyze(text: string | number[], options?: AnalyzeRequestOptions & LongRequest): Promise<RoutingAnalysis>;
  /**
   * Expert dashboards over one or more texts (each routed on its own, windowed as `analyze`):
   * per layer and expert, shares, top tokens by lift, top contexts; and each text's own shares
   * (`documents`). The CLI's `experts`.
   */
  experts(texts: string | number[] | (string | number[])[], options?: ExpertsRequestOptions & LongRequest): Promise<ExpertsResult>;
  /** The logit lens of every layer and position, and of each chosen expert's output. The CLI's `lens`. */
  lens(text: string | number[], options?: LensRequestOptions): Promise<LensResult>;
  /**
   * What f16, 8- and 4-bit weights do to routing on texts, against the model's weights in float32:
   * loss change, next-token argmax agreement, per layer the share of tokens whose top-k set and
   * first choice are unchanged. `bench/quant-routing.ts`'s measure, computed in the worker.
   */
  quantRouting(texts: { name: string; ids: number[] }[], options?: LongRequest & { formats?: WeightFormat[] }): Promise<QuantRoutingRow[]>;
  /** Activation or routing patching from a clean to a corrupted text. The CLI's `patch`. */
  patch(request: PatchRequest, options?: LongRequest): Promise<PatchOutcome>;
  /**
   * Two runs side by side and their routing difference: each a text (or ids), `{ text,
   * interventions }`, or a Trace made before (another prompt, another model).
   */
  compare(a: CompareInput, b: CompareInput): Promise<Comparison>;
  /** Stops every running generation and long request (analyze, experts, patch) at once, and a model load in progress. */
  stop(): void;
  interventions: {
    ablate(layer: number, experts: number[]): Intervention;
    force(layer: number, experts: number[], weights?: number[]): Intervention;
    bias(layer: number, bias: number[]): Intervention;
    zeroHead(layer: number, head: number): Intervention;
    /** Replace hook blocks.{layer}.{hook} at a position with these D values (activation patching). */
    patch(layer: number, hook: PatchableHook, position: number, values: ArrayLike<number>): Intervention;
  };
}

/**
 * A seed the reader can read and type back: 1 to 999999. Drawn afresh for every generation that
 * is not given one, so sampling samples (the engine's own default, 0, would give every
 * "Generate again" the same text).
 */
export function freshSeed(): number {
  const x = new Uint32Array(1);
  crypto.getRandomValues(x);
  return 1 + (x[0]! % 999999);
}

/** The client's generation with its seed chosen (given, or fresh) and carried by every state. */
async function* withSeed(client: MixscopeClient, prompt: string | number[], options: GenerateRequestOptions): AsyncGenerator<GenerationState, void, void> {
  const seed = options.seed ?? freshSeed();
  for await (const state of client.generate(prompt, { ...options, seed })) yield Object.assign(state, { seed });
}

export function createMixscopeApi(client: MixscopeClient): MixscopeApi {
  const info = client.info;
  const tk = client.tokenizer;
  return {
    model: {
      ...info,
      tokenizer: tk && {
        encode: (text: string, options: { maxTokens?: number } = {}) => (options.maxTokens === undefined
          ? tk.encode(text).ids
          : encodePrefix((t) => tk.encode(t).ids, text, options.maxTokens)),
        decode: (ids: number[]) => tk.decode(ids),
        piece: (id: number) => tk.idToToken(id) ?? String(id),
      },
      sparseLayers: moeLayerIndices(info.config),
    },
    layerInput: (options) => layerInput(info.config, options),
    hookNames: info.hookNames,
    hookPoints: HOOK_POINTS,
    generate: (prompt, options = {}) => withSeed(client, prompt, options),
    forward: (input, options) => client.forward(input, options),
    trace: (text, options) => client.trace(text, options),
    analyze: (text, options) => client.analyze(text, options),
    experts: (texts, options) => client.experts(Array.isArray(texts) && texts.length > 0 && typeof texts[0] !== 'number' ? texts as (string | number[])[] : [texts as string | number[]], options),
    lens: (text, options) => client.lens(text, options),
    patch: (request, options) => client.patch(request, options),
    quantRouting: (texts, options = {}) => client.quantRouting(texts, options.formats ?? ['q8', 'q4'], options),
    compare: (a, b) => compareRuns(client, a, b),
    stop: () => client.stop(),
    freshSeed,
    interventions: {
      ablate: (layer, experts) => ({ kind: 'ablate_experts', layer, experts }),
      force: (layer, experts, weights) => ({ kind: 'force_experts', layer, experts, ...(weights ? { weights } : {}) }),
      bias: (layer, bias) => ({ kind: 'router_bias', layer, bias }),
      zeroHead: (layer, head) => ({ kind: 'zero_head', layer, head }),
      patch: (layer, hook, position, values) => ({ kind: 'patch_activation', layer, hook, position, values: Array.from(values) }),
    },
  };
}

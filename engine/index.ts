// Mixscope's engine, the public surface: load a Hugging Face Mixtral checkpoint, run it on the
// CPU reference engine, observe and intervene through named hooks, sample and generate.
// Browser- and worker-safe: nothing here imports Node modules (see ./node.ts for those).
export { parseConfig, type MixtralConfig } from './config.ts';
export { MODEL_TYPES, isMoeLayer, moeLayerIndices, type FamilyTraits, type ModelType } from './family.ts';
export { CheckpointError, RequestError, type CheckpointErrorCode } from './errors.ts';
export type { MixtralWeights, LayerWeights, ExpertWeights, TensorSpec } from './weights.ts';
export * from './checkpoint/index.ts';
export * from './hub/index.ts';
export * from './footprint/index.ts';
export { loadModel, type Model } from './model.ts';
export { MixscopeTokenizer, StreamDecoder, type Encoded } from './tokenizer.ts';
export { countParameters, type ParameterCounts } from './params.ts';
export { createSampler, candidates, topTokens, argmax, softmax, seededRandom, type SamplingOptions } from './sampling.ts';
export { generate, type GenerateInput, type GenerateOptions, type GenerateStep, type FedForward, type Finish } from './generate.ts';
export { promptIds, type PromptUse } from './generation/prompt.ts';
export { TokenTexts, specialIds, type TokenInfo } from './generation/token-texts.ts';
export { nextTokenCandidates, type Candidate } from './generation/candidates.ts';
export { layerRouting, routingHooks, sliceRouting, type LayerRouting, type RoutingData } from './routing/routing.ts';
export { layerRoutingStats, randomRepeatRates, type LayerRoutingStats } from './analysis/routing-stats.ts';
export { routeLongText, type LongTextRouting } from './analysis/long-text-routing.ts';
export { analyzeRouting, type RoutingAnalysis } from './analysis/analyze-routing.ts';
export type { Engine, EngineSession, ForwardRequest, ForwardResult, ForwardOutput } from './engine.ts';
export { CpuEngine } from './cpu/engine.ts';
export type { CpuWeights, CpuLayerWeights, WeightMatrix, HalfMatrix } from './cpu/stored-weights.ts';
export { HOOK_POINTS, hookNames, hookShape, hookSpec, hookExists, type HookPointSpec, type Dim } from './hooks/names.ts';
export { resolveHookNames, type HookRequest, type HookFn, type HookValue, type HookTensor, type ExpertChoice, type HookContext } from './hooks/request.ts';
export { validateInterventions, type Intervention, type AblateExperts, type ForceExperts, type RouterBias, type ZeroHead } from './hooks/interventions.ts';

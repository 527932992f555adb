// The WebGPU engine's public face: the engine, the forward as a plan, the GPU verbs, the kernels
// and the f16 packing they read.
export { WebGpuEngine, lossBehind, type WebGpuEngineOptions, type KernelTimes } from './engine.ts';
export { GpuSession, type GpuForwardResult } from './session.ts';
export { planForward, planEmbedding, planLayer, planHead, scratchFor, residualNames, NOWHERE, type Call, type ForwardStep, type Head, type HookPoint, type Placement, type Scratch } from './forward.ts';
export { HookCapture } from './capture.ts';
export { uploadWeights, uploadTensors, WeightWriter, layerBuffers, weightBuffers, type GpuLayer, type GpuWeights, type WeightDtype, type StreamUploadOptions } from './upload.ts';
export { loadWebGpuModel, streamedFormat, type StreamedLoadOptions, type StreamedModel } from './load.ts';
export { partLayout, rowValueBytes, fitsFormat, type PartLayout } from './weight-layout.ts';
export * from './gpu.ts';
export * from './kernels.ts';
export { floatToHalf, packF16, unpackF16 } from './f16.ts';
export { WGSL, type ShaderName } from './shaders.ts';
export { requestEngineDevice, requiredLimitsFor, largestTensorBytes, engineFeatures } from './limits.ts';
export { bindingLimit, splitRows, type Part } from './split.ts';
export { PassCache } from './pass-cache.ts';

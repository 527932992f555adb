// The WebGPU engine's public face: the GPU verbs, the kernels and the f16 packing they read.
export * from './gpu.ts';
export * from './kernels.ts';
export { floatToHalf, packF16, unpackF16 } from './f16.ts';
export { WGSL, type ShaderName } from './shaders.ts';
export { requestEngineDevice, requiredLimitsFor, largestTensorBytes } from './limits.ts';
export { bindingLimit, splitRows, type Part } from './split.ts';
export { PassCache } from './pass-cache.ts';

// What the browser parity page needs from the engine (and the parity rules of the Node tests),
// bundled by Vite for the test.
export { CpuEngine } from '../../engine/cpu/engine.ts';
export { WebGpuEngine } from '../../engine/webgpu/engine.ts';
export { loadCheckpoint, urlSource } from '../../engine/checkpoint/index.ts';
export { generate } from '../../engine/generate.ts';
export { MixscopeTokenizer } from '../../engine/tokenizer.ts';
export { requestEngineDevice } from '../../engine/webgpu/limits.ts';
export { convertWeights } from '../../engine/quant/quantize-weights.ts';
export { expertChoiceFlips, maxAbsDiff } from '../helpers/parity.ts';

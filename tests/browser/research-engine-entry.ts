// What the browser parity page of the research instruments needs from the engine, bundled by Vite.
export { CpuEngine } from '../../engine/cpu/engine.ts';
export { WebGpuEngine } from '../../engine/webgpu/engine.ts';
export { loadCheckpoint, urlSource } from '../../engine/checkpoint/index.ts';
export { requestEngineDevice } from '../../engine/webgpu/limits.ts';
export { PATCHABLE_HOOKS } from '../../engine/hooks/interventions.ts';
export { patchEffects, PATCH_WHATS } from '../../engine/patch/patching.ts';
export { lensHead, logitLens } from '../../engine/lens/logit-lens.ts';
export { maxAbsDiff } from '../helpers/parity.ts';

// Sizing models before loading them: bytes per weight format, parameter counts from a config,
// whether an adapter can hold the weights, and a checkpoint's files and sizes read without its
// weights. Pure and browser-safe.
export { WEIGHT_FORMATS, QUANT_GROUP, isWeightFormat, matrixBytes, type WeightFormat } from './formats.ts';
export { SIZED_MODEL_TYPES, moeTensorTable, countTableParameters, type MoeTensorTable, type TensorGroup, type TensorRole } from './moe-tensors.ts';
export { DEFAULT_LIMITS, checkFit, formatBytes, storedBytes, weightFootprint, type BindingLimits, type FitCheck, type WeightFootprint } from './footprint.ts';
export { inspectCheckpoint, guessStoredDtype, type CheckpointInspection } from './inspect.ts';
export { defaultWeightFormat, engineFormat, formatChoices, planForDevice, type DevicePlan, type FormatChoice } from './device-plan.ts';

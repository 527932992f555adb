export { loadCheckpoint, type LoadedCheckpoint, type LoadOptions, type LoadProgress } from './load.ts';
export { urlSource, filesSource, type CheckpointSource } from './source.ts';
export { mixtralTensorSpecs } from './tensor-specs.ts';
export { toFloat32, DTYPE_BYTES, type DType } from './dtype.ts';
export { parseHeader, readHeaderLength, type SafetensorsHeader, type TensorEntry } from './safetensors-header.ts';

// Checkpoint loading, the public surface. Browser-, worker- and Node-safe (see ../node.ts for
// reading a directory on disk).
export {
  loadCheckpoint, CONFIG_FILE, TOKENIZER_FILE, INDEX_FILE, SINGLE_FILE,
  type LoadedCheckpoint, type LoadOptions, type LoadProgress, type UnusedTensor,
} from './load.ts';
export { urlSource, filesSource, type CheckpointSource, type NamedBlob } from './source.ts';
export { MIXTRAL_TENSORS, mixtralTensorSpecs, assembleWeights, tensorOf, tensorName, tensorShape, tensorTemplate, type TensorDim, type TensorTemplate } from './tensor-specs.ts';
export { toFloat32, decodeInto, halfToFloat, isDType, weightStorageFor, DTYPE_BYTES, DTYPES, type DType } from './dtype.ts';
export {
  parseSafetensorsHeader, parseHeader, readHeaderLength, MAX_HEADER_BYTES,
  type SafetensorsHeader, type TensorEntry,
} from './safetensors-header.ts';
export { readTensors, type StoredTensor, type TensorReadOptions } from './tensor-reader.ts';
export { loadStoredCheckpoint, type StoredCheckpoint } from './load-stored.ts';

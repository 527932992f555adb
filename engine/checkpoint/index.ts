// Checkpoint loading, the public surface. Browser-, worker- and Node-safe (see ../node.ts for
// reading a directory on disk).
export {
  loadCheckpoint, CONFIG_FILE, TOKENIZER_FILE, INDEX_FILE, SINGLE_FILE,
  type LoadedCheckpoint, type LoadOptions, type LoadProgress, type UnusedTensor,
} from './load.ts';
export { urlSource, filesSource, type CheckpointSource, type NamedBlob } from './source.ts';
export {
  MIXTRAL_TENSORS, mixtralTensorSpecs, eachTensorSpec, tensorCount, tensorSpecFor, assembleWeights, tensorOf, tensorName, tensorShape, tensorTemplate, tensorTable,
  type TensorDim, type TensorTemplate, type FamilyTensorTemplate,
} from './tensor-specs.ts';
export { toFloat32, decodeInto, halfToFloat, isDType, weightStorageFor, DTYPE_BYTES, DTYPES, type DType } from './dtype.ts';
export {
  parseSafetensorsHeader, parseHeader, readHeaderLength, HeaderParser, MAX_HEADER_BYTES, HEADER_LIMITS,
  type SafetensorsHeader, type TensorEntry, type HeaderOptions, type OtherTensor,
} from './safetensors-header.ts';
export { readTensors, type StoredTensor, type TensorReadOptions, type TensorReadReport } from './tensor-reader.ts';
export { planWeightFiles, readModelFiles, type WeightPlan } from './checkpoint-files.ts';
export { firstNonFiniteStored } from './finite.ts';
export { loadStoredCheckpoint, type StoredCheckpoint } from './load-stored.ts';
export { JSON_LIMITS, readJsonFile, parseBoundedJson, checkJsonBounds, type JsonLimits } from './json-limits.ts';

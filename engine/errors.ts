// Typed errors for everything that can be wrong with a checkpoint or a request.
// Each error names the file (and tensor, where there is one) so a user knows what to fix.

export type CheckpointErrorCode =
  | 'truncated'            // the file ends before the bytes its header promises
  | 'header-too-large'     // the 8-byte header length points past the end of the file
  | 'header-not-json'      // the header bytes are not a JSON object
  | 'bad-header'           // JSON, but not a valid safetensors header (missing fields, wrong types)
  | 'offsets-out-of-range' // a tensor's data_offsets fall outside the data section
  | 'offsets-overlap'      // two tensors claim the same bytes
  | 'unknown-dtype'        // a dtype this engine does not read
  | 'shape-mismatch'       // a tensor's shape disagrees with config.json
  | 'missing-tensor'       // a tensor the model needs is in no file
  | 'bad-config'           // config.json is missing, not JSON, or has impossible values
  | 'bad-index'            // model.safetensors.index.json is malformed or names missing shards
  | 'missing-file'         // a file the checkpoint needs is absent
  | 'bad-tokenizer';       // tokenizer.json cannot be read

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  constructor(
    readonly code: CheckpointErrorCode,
    readonly file: string,
    message: string,
    readonly tensor?: string,
  ) {
    super(`${file}${tensor ? ` [${tensor}]` : ''}: ${message}`);
  }
}

/** A request the engine cannot serve: bad ids, an empty prompt, an unknown hook name, ... */
export class RequestError extends Error {
  override readonly name = 'RequestError';
}

// A loaded model: the checkpoint plus its tokenizer and parameter counts, ready to hand to an engine.
import { loadCheckpoint, type CheckpointSource, type LoadedCheckpoint, type LoadOptions } from './checkpoint/index.ts';
import { MixscopeTokenizer } from './tokenizer.ts';
import { countParameters, type ParameterCounts } from './params.ts';

export interface Model extends LoadedCheckpoint {
  /** Null when the checkpoint has no tokenizer.json: token ids still work. */
  tokenizer: MixscopeTokenizer | null;
  parameters: ParameterCounts;
}

export async function loadModel(source: CheckpointSource, options: LoadOptions = {}): Promise<Model> {
  const ckpt = await loadCheckpoint(source, options);
  return {
    ...ckpt,
    tokenizer: ckpt.tokenizerJson ? new MixscopeTokenizer(ckpt.tokenizerJson) : null,
    parameters: countParameters(ckpt.config),
  };
}

// A loaded model: checkpoint plus tokenizer, ready to hand to an engine.
import type { MixtralConfig } from './config.ts';
import type { MixtralWeights } from './weights.ts';
import { loadCheckpoint, type CheckpointSource, type LoadOptions } from './checkpoint/index.ts';
import { MixscopeTokenizer } from './tokenizer.ts';
import { countParameters, type ParameterCounts } from './params.ts';

export interface Model {
  label: string;
  config: MixtralConfig;
  weights: MixtralWeights;
  /** Null when the checkpoint has no tokenizer.json: token ids still work. */
  tokenizer: MixscopeTokenizer | null;
  /** The parsed tokenizer.json, so another thread can build the same tokenizer. */
  tokenizerJson: unknown | null;
  parameters: ParameterCounts;
  files: string[];
  dtypeBytes: Record<string, number>;
}

export async function loadModel(source: CheckpointSource, options: LoadOptions = {}): Promise<Model> {
  const ckpt = await loadCheckpoint(source, options);
  return {
    label: ckpt.label,
    config: ckpt.config,
    weights: ckpt.weights,
    tokenizer: ckpt.tokenizerJson ? new MixscopeTokenizer(ckpt.tokenizerJson) : null,
    tokenizerJson: ckpt.tokenizerJson,
    parameters: countParameters(ckpt.config),
    files: ckpt.files,
    dtypeBytes: ckpt.dtypeBytes,
  };
}

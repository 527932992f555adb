// What the logit lens needs from a model whose weights stream to the GPU: the final norm and the
// lm_head (the embedding when the two are tied), kept in float32 on the host as they pass by.
// Everything else goes to the device and is released (webgpu/load.ts: onTensor).
import type { MixtralConfig } from '../config.ts';
import { decodeInto, DTYPE_BYTES } from '../checkpoint/dtype.ts';
import type { StoredTensor } from '../checkpoint/tensor-reader.ts';
import type { MixtralWeights } from '../weights.ts';

export type LensWeights = Pick<MixtralWeights, 'norm' | 'lm_head'>;

export interface LensHeadKeeper {
  /** Sees each tensor once (StreamedLoadOptions.onTensor). */
  onTensor(t: StoredTensor): void;
  /** The kept norm and lm_head; throws if the stream did not carry them. */
  head(): LensWeights;
}

export function lensHeadKeeper(config: MixtralConfig): LensHeadKeeper {
  const kept: Partial<LensWeights> = {};
  const lmHead = config.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const f32 = (t: StoredTensor) => {
    const out = new Float32Array(t.bytes.length / DTYPE_BYTES[t.dtype]);
    decodeInto(t.bytes, t.dtype, out, 0);
    return out;
  };
  return {
    onTensor(t) {
      if (t.name === 'model.norm.weight') kept.norm = f32(t);
      else if (t.name === lmHead) kept.lm_head = f32(t);
    },
    head() {
      if (!kept.norm || !kept.lm_head) throw new Error(`the streamed checkpoint carried no ${kept.norm ? lmHead : 'model.norm.weight'}`);
      return kept as LensWeights;
    },
  };
}

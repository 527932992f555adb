// The one check of what a caller hands the engine as a prompt or a text: text needs a
// tokenizer, nothing may be empty, and it must fit the model's window for what is done with it.
import type { MixtralConfig } from '../config.ts';
import type { MixscopeTokenizer } from '../tokenizer.ts';
import { RequestError } from '../errors.ts';

/**
 * - 'generate': a prompt to continue; it must leave room for at least one token (at most P - 1).
 * - 'forward': a text read in one forward (at most P tokens).
 * - 'any-length': a text an analysis cuts into windows itself.
 * (P: the model's max_position_embeddings.)
 */
export type PromptUse = 'generate' | 'forward' | 'any-length';

/**
 * Token ids of a prompt or a text (text is encoded with the tokenizer; ids are taken as they are).
 * Special tokens written in the text are text unless `specialTokens` (see tokenizer.ts).
 */
export function promptIds(
  config: Pick<MixtralConfig, 'max_position_embeddings'>, tokenizer: MixscopeTokenizer | null | undefined,
  input: string | readonly number[], use: PromptUse = 'generate', { specialTokens = false } = {},
): number[] {
  const what = use === 'generate' ? 'prompt' : 'text';
  let ids: number[];
  if (typeof input === 'string') {
    if (input.length === 0) throw new RequestError(`the ${what} is empty: type some text${use === 'generate' ? ' to continue' : ''}`);
    if (!tokenizer) throw new RequestError(`a text ${what} needs a tokenizer (this checkpoint has no tokenizer.json): give token ids instead`);
    ids = tokenizer.encode(input, { specialTokens }).ids;
  } else {
    ids = [...input];
  }
  if (ids.length === 0) throw new RequestError(`the ${what} is empty: give at least one token id`);
  const P = config.max_position_embeddings;
  if (use === 'generate' && ids.length >= P) {
    throw new RequestError(`the prompt is ${ids.length} tokens long; this model reads at most ${P - 1} before generating (shorten it)`);
  }
  if (use === 'forward' && ids.length > P) {
    throw new RequestError(`the text is ${ids.length} tokens long; this model reads at most ${P} at once (split it)`);
  }
  return ids;
}

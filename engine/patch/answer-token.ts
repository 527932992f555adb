// The token an answer names in patching: the first token of the answer's text, tokenized as
// `tokenize` does, without the beginning-of-sequence token that tokenization puts first.
import type { MixtralConfig } from '../config.ts';
import type { MixscopeTokenizer } from '../tokenizer.ts';
import { RequestError } from '../errors.ts';

export function answerToken(c: Pick<MixtralConfig, 'bos_token_id'>, tokenizer: MixscopeTokenizer, text: string, what = 'answer'): number {
  const ids = tokenizer.encode(text).ids;
  const rest = ids[0] === c.bos_token_id ? ids.slice(1) : ids;
  if (rest.length === 0) throw new RequestError(`the ${what} "${text.slice(0, 40)}" gives no token`);
  return rest[0];
}

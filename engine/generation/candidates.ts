// The next-token candidates a reader sees after a step: the most likely tokens with their
// probabilities (softmax of the logits at temperature 1, whatever the sampling settings).
import type { MixscopeTokenizer } from '../tokenizer.ts';
import { topTokens } from '../sampling.ts';

export interface Candidate {
  id: number;
  /** The token decoded on its own, special tokens included ("" for a lone byte of a character). */
  text: string;
  /** The vocabulary piece (e.g. "▁the"). */
  piece: string;
  prob: number;
}

export function nextTokenCandidates(logits: ArrayLike<number>, count: number, tokenizer: MixscopeTokenizer | null | undefined): Candidate[] {
  return candidatesOf(topTokens(logits, count), tokenizer);
}

/** The candidates an engine picked (ForwardResult.candidates: the same procedure as topTokens), with their texts. */
export function candidatesOf({ ids, probs }: { ids: number[]; probs: number[] }, tokenizer: MixscopeTokenizer | null | undefined): Candidate[] {
  return ids.map((id, i) => {
    const piece = tokenizer?.idToToken(id) ?? String(id);
    const text = tokenizer ? tokenizer.decode([id], { skipSpecialTokens: false }) : piece;
    return { id, text, piece, prob: probs[i] };
  });
}

// The worker's side of the research instruments: the engine's own implementations
// (engine/analysis/experts.ts, engine/lens/, engine/patch/), given the site's inputs (texts or
// ids) and returning what views draw (tokens as TokenInfo). Runs wherever the engine runs.
import type { Engine } from '../../engine/engine.ts';
import type { Model } from '../../engine/model.ts';
import type { WeightMatrix } from '../../engine/cpu/stored-weights.ts';
import { RequestError } from '../../engine/errors.ts';
import { promptIds } from '../../engine/generation/prompt.ts';
import { TokenTexts, specialIds, type TokenInfo } from '../../engine/generation/token-texts.ts';
import { expertReport } from '../../engine/analysis/experts.ts';
import { lensHead, logitLens } from '../../engine/lens/logit-lens.ts';
import { patchEffects } from '../../engine/patch/patching.ts';
import { answerToken } from '../../engine/patch/answer-token.ts';
import type { ExpertsRequestOptions, ExpertsResult, LensRequestOptions, LensResult, PatchOutcome, PatchRequest } from './protocol.ts';

type Progress = (done: number, total: number) => void;

/**
 * What the instruments read of a model: its config and tokenizer, and for the lens its final norm
 * and lm_head: `head` where the worker keeps them apart (the weights live on the GPU), else the weights'.
 */
/** The lens reads the final norm and lm_head: from the weights, or on WebGPU from the head the tab kept. */
type LensWeights = { norm: Float32Array; lm_head: WeightMatrix };
export type ResearchModel = Pick<Model, 'config' | 'tokenizer'> & { weights: LensWeights | null; head?: LensWeights };

/** A text's tokens as views show them. */
export function tokenInfos(model: Pick<Model, 'config' | 'tokenizer'>, ids: readonly number[]): TokenInfo[] {
  const texts = new TokenTexts(model.tokenizer, specialIds(model.config));
  const tokens = ids.map((id, i) => texts.push(id, i, false));
  if (tokens.length) tokens[tokens.length - 1].text += texts.flush();
  return tokens;
}

const pieceOf = (model: Pick<Model, 'tokenizer'>) => (id: number) => model.tokenizer?.idToToken(id) ?? String(id);

export async function runExperts(engine: Engine, model: ResearchModel, texts: readonly (string | number[])[], o: ExpertsRequestOptions, signal?: AbortSignal, onProgress?: Progress): Promise<ExpertsResult> {
  if (texts.length === 0) throw new RequestError('experts: give at least one text');
  const docs = texts.map((t) => {
    const ids = promptIds(engine.config, model.tokenizer, t, 'any-length');
    return o.maxTokens !== undefined ? ids.slice(0, Math.max(1, Math.floor(o.maxTokens))) : ids;
  });
  return expertReport(engine, docs, { top: o.top, minCount: o.minCount, tokenizer: model.tokenizer, signal, onProgress });
}

export async function runLens(engine: Engine, model: ResearchModel, text: string | readonly number[], o: LensRequestOptions): Promise<LensResult> {
  const ids = promptIds(engine.config, model.tokenizer, text, 'forward');
  const r = await logitLens(engine, lensHead(model.config, (model.head ?? model.weights)!), ids, { top: o.top, experts: o.experts, piece: pieceOf(model) });
  return { tokens: tokenInfos(model, ids), layers: r.layers };
}

/** An answer given as a token id, or as text (its first token without BOS, as the CLI takes it). */
function answerId(model: ResearchModel, answer: string | number, what: string): number {
  if (typeof answer === 'number') return answer;
  if (!model.tokenizer) throw new RequestError(`patch: a text ${what} needs a tokenizer; give a token id`);
  return answerToken(model.config, model.tokenizer, answer, what);
}

export async function runPatch(engine: Engine, model: ResearchModel, req: PatchRequest, signal?: AbortSignal, onProgress?: Progress): Promise<PatchOutcome> {
  const clean = promptIds(engine.config, model.tokenizer, req.clean, 'forward');
  const corrupt = promptIds(engine.config, model.tokenizer, req.corrupt, 'forward');
  const answer = answerId(model, req.answer, 'answer'), wrong = answerId(model, req.wrong, 'wrong');
  const what = req.what ?? 'resid_pre';
  const piece = pieceOf(model);
  const r = await patchEffects(engine, clean, corrupt, answer, wrong, { what, piece, signal, onProgress });
  return {
    ...r, what, cleanTokens: tokenInfos(model, clean), corruptTokens: tokenInfos(model, corrupt),
    answer: { id: answer, piece: piece(answer) }, wrong: { id: wrong, piece: piece(wrong) },
  };
}

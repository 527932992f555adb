// `lens`: the logit lens of every layer and position, and of each chosen expert's own output
// (engine/lens/logit-lens.ts).
import type { CliArgs } from './args.ts';
import { UsageError, parseIds } from './args.ts';
import { createEngine, lensWeights, load, requireTokenizer } from './commands.ts';
import { promptIds } from '../generation/prompt.ts';
import { lensHead, logitLens } from '../lens/logit-lens.ts';
import { positiveInt } from './research-args.ts';

export async function lens(values: CliArgs['values'], out: (line: string) => void): Promise<void> {
  if ((values.text === undefined) === (values.ids === undefined)) throw new UsageError('lens needs --text T or --ids 1,2,3 (one of them)');
  const top = positiveInt(values, 'top', 5);
  const { dir, model } = await load(values, { needTokenizer: values.text !== undefined });
  const ids = values.ids !== undefined ? parseIds(values.ids) : promptIds(model.config, requireTokenizer(dir, model.tokenizer), values.text!, 'forward');
  if (top > model.config.vocab_size) throw new UsageError(`--top must be at most the vocabulary size (${model.config.vocab_size})`);
  const engine = await createEngine(values, model);
  try {
    out(JSON.stringify(await logitLens(engine, lensHead(model.config, lensWeights(model)), ids, { top, tokenizer: model.tokenizer })) + '\n');
  } finally {
    engine.dispose();
  }
}

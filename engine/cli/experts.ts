// `experts`: per layer and expert, what the expert reads over a text (engine/analysis/experts.ts).
import type { CliArgs } from './args.ts';
import { UsageError } from './args.ts';
import { createEngine, load, requireTokenizer } from './commands.ts';
import { promptIds } from '../generation/prompt.ts';
import { expertReport } from '../analysis/experts.ts';
import { positiveInt, textFlag } from './research-args.ts';

export async function experts(values: CliArgs['values'], out: (line: string) => void): Promise<void> {
  const text = await textFlag(values);
  if (text === undefined) throw new UsageError('experts needs --text-file F (or --text T)');
  const top = positiveInt(values, 'top', 10), minCount = positiveInt(values, 'min-count', 5);
  const { dir, model } = await load(values, { needTokenizer: true });
  const tokenizer = requireTokenizer(dir, model.tokenizer);
  const ids = promptIds(model.config, tokenizer, text, 'any-length');
  const engine = await createEngine(values, model);
  try {
    const r = await expertReport(engine, [ids], { top, minCount, tokenizer });
    out(JSON.stringify({ tokens: r.tokens, experts: r.experts, top_k: r.top_k, layers: r.layers }) + '\n');
  } finally {
    engine.dispose();
  }
}

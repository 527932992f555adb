// `patch`: activation and routing patching between a clean and a corrupted text
// (engine/patch/patching.ts).
import type { CliArgs } from './args.ts';
import { UsageError } from './args.ts';
import { createEngine, load, requireTokenizer } from './commands.ts';
import { promptIds } from '../generation/prompt.ts';
import { PATCH_WHATS, patchEffects, type PatchWhat } from '../patch/patching.ts';
import { answerToken } from '../patch/answer-token.ts';

export async function patch(values: CliArgs['values'], out: (line: string) => void): Promise<void> {
  for (const flag of ['clean', 'corrupt', 'answer', 'wrong'] as const) {
    if (values[flag] === undefined) throw new UsageError(`patch needs --clean T --corrupt T2 --answer A --wrong B (missing --${flag})`);
  }
  const what = (values.what ?? 'resid_pre') as PatchWhat;
  if (!PATCH_WHATS.includes(what)) throw new UsageError(`--what must be one of ${PATCH_WHATS.join(', ')}, got "${what.slice(0, 40)}"`);
  const { dir, model } = await load(values, { needTokenizer: true });
  const tokenizer = requireTokenizer(dir, model.tokenizer);
  const clean = promptIds(model.config, tokenizer, values.clean!, 'forward');
  const corrupt = promptIds(model.config, tokenizer, values.corrupt!, 'forward');
  const answer = answerToken(model.config, tokenizer, values.answer!, 'answer');
  const wrong = answerToken(model.config, tokenizer, values.wrong!, 'wrong');
  const engine = await createEngine(values, model);
  try {
    const r = await patchEffects(engine, clean, corrupt, answer, wrong, { what, piece: (id) => tokenizer.idToToken(id) ?? String(id) });
    out(JSON.stringify(r) + '\n');
  } finally {
    engine.dispose();
  }
}

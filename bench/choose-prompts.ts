// npm run -s choose-prompts: the notebooks' default prompts, chosen from what the default model
// continues best. For each notebook that generates from a prompt, every candidate prompt is
// continued greedily on the CPU engine (what a reader sees at temperature 0), and scored:
//
//   log-prob  the mean log-probability (nats per token) of the continuation under the model:
//             how sure the model is of what it writes;
//   repeat    the share of the continuation's 4-grams of tokens that occurred before in the prompt
//             and continuation: a loop ("of the LORD of the LORD ...") scores near 1;
//   blank     the share of the continuation's characters that are whitespace (prose has about
//             0.2, indented code 0.3; a run of blank lines or spaces much more);
//   score     log-prob - 3 x repeat - 2 x (blank - 0.35 when over it): a model is surest of a
//             loop or of blank lines, so sureness alone would choose them; the penalties are in
//             nats, the size of a typical log-prob.
//
// The best-scoring candidate of each notebook is written to notebooks/default-prompts.json, which
// the notebooks read (the `defaultPrompts` builtin), with every candidate's figures and text so a
// reader of the file can see why. Rerun it when models/mixscope-tiny changes:
//   npm run -s choose-prompts [-- --model DIR] [--tokens N] [--dry-run]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { CpuEngine } from '../engine/cpu/engine.ts';
import { loadModel } from '../engine/model.ts';
import { directorySource } from '../engine/node.ts';
import { generate } from '../engine/generate.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = path.join(ROOT, 'notebooks/default-prompts.json');

/**
 * Candidates per notebook, in the notebook's own subject: the tour shows routing on any text (one
 * of each of the model's six domains), interventions and the live logit lens are about code.
 */
const CANDIDATES: Record<string, string[]> = {
  tour: [
    'def fibonacci(n):',
    'Once upon a time',
    'The old man walked along the river and',
    'Es war einmal ein kleiner',
    '#include <stdio.h>\n\nint main(void)\n{',
    'import os\nimport sys\n\n\ndef main():',
    '.TH LS 1\n.SH NAME\nls \\- list directory contents\n.SH SYNOPSIS',
    '12 + 7 = 19\n25 + 13 =',
    'for i in range(10):',
    'In the beginning',
    'What is 12 + 7?\nAnswer:',
    'Solve 3*x + 4 = 19 for x.\nAnswer:',
    'How many programmers does it take to change a light bulb?',
    'Alle Menschen sind',
    '#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n',
  ],
  interventions: [
    'def add(a, b):',
    'def fibonacci(n):',
    'import os\nimport sys\n\n\ndef main():',
    'class Stack:\n    def __init__(self):',
    'for i in range(10):',
    'def read_file(path):',
  ],
  'what-does-each-expert-do': [
    'def fibonacci(n):',
    'def add(a, b):',
    'import os\nimport sys\n\n\ndef main():',
    'class Stack:\n    def __init__(self):',
    'def read_file(path):',
    'for i in range(10):',
  ],
};

const { values } = parseArgs({ options: { model: { type: 'string' }, tokens: { type: 'string' }, 'dry-run': { type: 'boolean' } } });
const dir = values.model ?? path.join(ROOT, 'models/mixscope-tiny');
const TOKENS = Number(values.tokens ?? 32);

interface Scored { prompt: string; continuation: string; logProb: number; repeat: number; blank: number; score: number }

/** log softmax(logits)[id], in float64. */
function logProbOf(logits: Float32Array, id: number): number {
  let max = -Infinity;
  for (const x of logits) if (x > max) max = x;
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  return logits[id]! - max - Math.log(sum);
}

/** Share of the continuation's n-grams (over ids) already seen earlier in prompt + continuation. */
export function repeatRate(prompt: readonly number[], continuation: readonly number[], n = 4): number {
  const all = [...prompt, ...continuation];
  const seen = new Set<string>();
  let grams = 0, repeats = 0;
  for (let i = 0; i + n <= all.length; i++) {
    const g = all.slice(i, i + n).join(',');
    if (i + n > prompt.length) { grams++; if (seen.has(g)) repeats++; }
    seen.add(g);
  }
  return grams ? repeats / grams : 0;
}

async function main() {
  const model = await loadModel(directorySource(dir));
  if (!model.tokenizer) throw new Error(`${dir} has no tokenizer.json: prompts need one`);
  const engine = new CpuEngine(model.config, model.weights);
  const notebooks: Record<string, { prompt: string; candidates: Scored[] }> = {};
  try {
    for (const [slug, prompts] of Object.entries(CANDIDATES)) {
      const scored: Scored[] = [];
      for (const prompt of prompts) {
        let text = '', logProb = 0, ids: number[] = [], promptIds: number[] = [];
        for await (const step of generate({ engine, tokenizer: model.tokenizer, prompt }, { maxTokens: TOKENS, temperature: 0, logits: true })) {
          if (step.index === 0) promptIds = step.inputIds;
          text += step.text;
          ids.push(step.token);
          logProb += logProbOf(step.logits, step.token);
        }
        const blank = text.length ? (text.match(/\s/g) ?? []).length / text.length : 1;
        const repeat = repeatRate(promptIds, ids);
        const mean = logProb / ids.length;
        scored.push({ prompt, continuation: text, logProb: round(mean), repeat: round(repeat), blank: round(blank), score: round(score(mean, repeat, blank)) });
        process.stderr.write(`[choose-prompts] ${slug}: ${JSON.stringify(prompt)} score ${round(score(mean, repeat, blank))} (log-prob ${round(mean)}, repeat ${round(repeat)}, blank ${round(blank)}): ${JSON.stringify(text)}\n`);
      }
      scored.sort((a, b) => b.score - a.score);
      notebooks[slug] = { prompt: scored[0]!.prompt, candidates: scored };
    }
  } finally {
    engine.dispose();
  }
  const out = {
    about: 'Default prompts of the notebooks, chosen by bench/choose-prompts.ts (npm run -s choose-prompts): the candidate whose greedy continuation scores best (mean log-prob - 3 x 4-gram repeat rate - 2 x whitespace share over 0.35).',
    model: path.relative(ROOT, path.resolve(dir)) || dir,
    tokens: TOKENS,
    prompts: Object.fromEntries(Object.entries(notebooks).map(([slug, n]) => [slug, n.prompt])),
    notebooks,
  };
  if (!values['dry-run']) writeFileSync(OUT, JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(JSON.stringify(out.prompts) + '\n');
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const score = (logProb: number, repeat: number, blank: number) => logProb - 3 * repeat - 2 * Math.max(0, blank - 0.35);

main().catch((e) => { console.error(`choose-prompts: ${(e as Error).message}`); process.exitCode = 1; });

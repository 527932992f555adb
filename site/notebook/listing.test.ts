import { describe, expect, it } from 'vitest';
import { parseNotebook } from './parse.ts';
import { addressKeys } from './address-keys.ts';
import { notebookMarkdown } from './edits.ts';
import type { CellBlock } from './types.ts';

const file = `---
title: Routing
group: Curriculum
---

# Intro

${'word '.repeat(400)}

\`\`\`js
viewof layer = urlState.bind("layer", Inputs.range([0, 5], {step: 1}))
\`\`\`

Prose \${urlState.get("ignored-in-prose")}.

\`\`\`js hide
state = { const p = urlState.get("prompt"); urlState.set("seed", "1"); return urlState.bind(name, x); }
\`\`\`
`;

describe('a notebook\'s listing', () => {
  it('has its group, its reading time at 200 words a minute, and the address keys its cells use (literal keys only)', () => {
    const nb = parseNotebook(file, 'routing');
    expect(nb.listing).toEqual({ group: 'Curriculum', minutes: 2, keys: ['layer', 'prompt', 'seed'] });
  });

  it('finds keys by parsing: a string that only looks like a call is not one, a cell that does not parse gives none', () => {
    expect(addressKeys(['x = "urlState.bind(\\"fake\\", 1)"', 'y = urlState.get("real")', 'z = urlState.get(('])).toEqual(['real']);
  });

  it('knows where each cell\'s code is in the file, so edits go back in place', () => {
    const nb = parseNotebook(file, 'routing');
    const cells = nb.blocks.filter((b): b is CellBlock => b.type === 'cell');
    for (const c of cells) expect(nb.markdown.slice(...nb.ranges[c.id]!)).toBe(c.source);
    const edited = notebookMarkdown(nb, (c) => (c.id === 'cell-1' ? 'state = 42' : c.source));
    expect(edited).toBe(file.replace(cells[1]!.source, 'state = 42'));
    expect(notebookMarkdown(nb, (c) => c.source)).toBe(file);
  });
});

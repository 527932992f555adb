import { describe, expect, it } from 'vitest';
import { parseNotebook } from './parse.ts';
import type { CellBlock, ProseBlock } from './types.ts';

const notebook = (body: string, front = 'title: Routing\nsummary: Where tokens go\norder: 2') => `---\n${front}\n---\n${body}`;

describe('parseNotebook', () => {
  it('reads title, summary and order from the front matter and takes the slug from the caller', () => {
    const nb = parseNotebook(notebook('Hello'), 'routing');
    expect(nb.meta).toEqual({ slug: 'routing', title: 'Routing', summary: 'Where tokens go', order: 2 });
  });

  it('names the file and the problem when the front matter is missing or wrong', () => {
    expect(() => parseNotebook('# no front matter', 'bare')).toThrow(/bare\.md: missing front matter/);
    expect(() => parseNotebook('---\ntitle: x\n', 'open')).toThrow(/open\.md: front matter is not closed/);
    expect(() => parseNotebook(notebook('', 'summary: s'), 'untitled')).toThrow(/untitled\.md: .*"title"/);
    expect(() => parseNotebook(notebook('', 'title: t\norder: first'), 'badorder')).toThrow(/badorder\.md: .*"order" must be a number/);
    expect(() => parseNotebook(notebook('', 'title: [unclosed'), 'yaml')).toThrow(/yaml\.md: front matter is not valid YAML/);
  });

  it('splits prose and ```js cells in document order, keeping other code blocks as prose', () => {
    const nb = parseNotebook(notebook('# Intro\n\n```js\nx = 1\n```\n\nBetween.\n\n```python\nprint(1)\n```\n\n```js\nx + 1\n```\n'), 'nb');
    expect(nb.blocks.map((b) => b.type)).toEqual(['prose', 'cell', 'prose', 'cell']);
    const [intro, first, between, second] = nb.blocks as [ProseBlock, CellBlock, ProseBlock, CellBlock];
    expect(intro.html).toBe('<h1>Intro</h1>');
    expect(first).toEqual({ type: 'cell', id: 'cell-0', source: 'x = 1', echo: false, display: true });
    expect(between.html).toContain('<p>Between.</p>');
    expect(between.html).toContain('language-python');
    expect(second.id).toBe('cell-1');
  });

  it('runs ```js hide cells without showing their value, in any order of options', () => {
    const cells = parseNotebook(notebook('```js hide\n1\n```\n\n```js echo hide\n2\n```\n\n```js\n3\n```'), 'h').blocks.filter((b): b is CellBlock => b.type === 'cell');
    expect(cells.map((c) => [c.echo, c.display])).toEqual([[false, false], [true, false], [false, true]]);
  });

  it('shows code by default for ```js echo or front matter echo: true, and no-echo overrides', () => {
    const cells = (nb: ReturnType<typeof parseNotebook>) => nb.blocks.filter((b): b is CellBlock => b.type === 'cell').map((c) => c.echo);
    expect(cells(parseNotebook(notebook('```js echo\n1\n```\n\n```js\n2\n```'), 'a'))).toEqual([true, false]);
    expect(cells(parseNotebook(notebook('```js\n1\n```\n\n```js no-echo\n2\n```', 'title: t\necho: true'), 'b'))).toEqual([true, false]);
  });

  it('turns ${expr} in prose into placeholders, parsing the expression so braces inside it do not end it', () => {
    const nb = parseNotebook(notebook('The value is ${x * 2} and ${ {a: 1}.a } and ${"}"}.'), 'inline');
    const prose = nb.blocks[0] as ProseBlock;
    expect(prose.inlines).toEqual([
      { id: 'inline-0', source: 'x * 2' },
      { id: 'inline-1', source: '{a: 1}.a' },
      { id: 'inline-2', source: '"}"' },
    ]);
    expect(prose.html).toBe('<p>The value is <span class="nb-inline" data-nb-inline="inline-0"></span> and '
      + '<span class="nb-inline" data-nb-inline="inline-1"></span> and <span class="nb-inline" data-nb-inline="inline-2"></span>.</p>');
  });

  it('leaves ${} inside code spans and fenced non-js code as text, and gives each prose block its own inlines', () => {
    const nb = parseNotebook(notebook('Code `${x}` stays.\n\n```js\n1\n```\n\nLive ${y}.'), 'spans');
    const [first, , last] = nb.blocks as [ProseBlock, CellBlock, ProseBlock];
    expect(first.inlines).toEqual([]);
    expect(first.html).toContain('<code>${x}</code>');
    expect(last.inlines).toEqual([{ id: 'inline-0', source: 'y' }]);
  });

  it('keeps an unparseable inline expression so the page can show its error in place', () => {
    const prose = parseNotebook(notebook('Broken ${1 +} here.'), 'broken').blocks[0] as ProseBlock;
    expect(prose.inlines).toEqual([{ id: 'inline-0', source: '1 +' }]);
  });
});

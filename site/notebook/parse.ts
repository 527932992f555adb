// Markdown notebook -> ParsedNotebook: front matter, prose rendered to HTML with live inline
// expressions, and ```js cells kept as source. Pure (runs in Node at build time and in tests).
import { Marked, type Token, type Tokens, type TokensList } from 'marked';
import { readFrontMatter } from './front-matter.ts';
import { inlineExpressions } from './inline-expressions.ts';
import type { InlineExpression, NotebookBlock, ParsedNotebook } from './types.ts';

/**
 * Fence info `js`, `js echo`, `js no-echo` and/or `js hide` -> a cell; any other language stays
 * prose. `hide` runs the cell without showing its value (errors still show in place).
 */
function cellFence(lang: string | undefined, echoByDefault: boolean): { echo: boolean; display: boolean } | null {
  const [language, ...options] = (lang ?? '').trim().split(/\s+/);
  if (language !== 'js') return null;
  const display = !options.includes('hide');
  if (options.includes('no-echo')) return { echo: false, display };
  return { echo: options.includes('echo') || echoByDefault, display };
}

export function parseNotebook(source: string, slug: string): ParsedNotebook {
  const { frontMatter, body } = readFrontMatter(source, `${slug}.md`);
  const inlines: InlineExpression[] = [];
  const marked = new Marked({ gfm: true }, inlineExpressions(inlines));
  const tokens = marked.lexer(body);

  const blocks: NotebookBlock[] = [];
  let prose: Token[] = [];
  let cells = 0;
  const flushProse = () => {
    const first = inlines.length;
    // The lexer has already tokenized inline content, so rendering only fills in the ids.
    const html = marked.parser(Object.assign(prose, { links: tokens.links }) as TokensList).trim();
    if (html) blocks.push({ type: 'prose', html, inlines: inlines.slice(first) });
    prose = [];
  };

  for (const token of tokens) {
    const code = token.type === 'code' && token.codeBlockStyle !== 'indented' ? token as Tokens.Code : null;
    const fence = code ? cellFence(code.lang, frontMatter.echo) : null;
    if (!code || !fence) { prose.push(token); continue; }
    flushProse();
    blocks.push({ type: 'cell', id: `cell-${cells++}`, source: code.text.trim(), echo: fence.echo, display: fence.display });
  }
  flushProse();

  return { meta: { slug, title: frontMatter.title, summary: frontMatter.summary, order: frontMatter.order }, blocks };
}

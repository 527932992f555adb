// Markdown notebook -> ParsedNotebook: front matter, prose rendered to HTML with live inline
// expressions, and ```js cells kept as source. Pure (runs in Node at build time and in tests).
import { Marked, type Token, type Tokens, type TokensList } from 'marked';
import { readFrontMatter } from './front-matter.ts';
import { inlineExpressions } from './inline-expressions.ts';
import { addressKeys } from './address-keys.ts';
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

export function parseNotebook(file: string, slug: string): ParsedNotebook {
  const source = file.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
  const { frontMatter, body } = readFrontMatter(source, `${slug}.md`);
  const inlines: InlineExpression[] = [];
  const marked = new Marked({ gfm: true }, inlineExpressions(inlines));
  const tokens = marked.lexer(body);

  const blocks: NotebookBlock[] = [];
  let prose: Token[] = [];
  let cells = 0;
  let words = 0;
  // Tokens' raw text covers the body end to end: their lengths give each cell's place in the file.
  let offset = source.length - body.length;
  const ranges: Record<string, [number, number]> = {};
  const flushProse = () => {
    const first = inlines.length;
    // The lexer has already tokenized inline content, so rendering only fills in the ids.
    const html = marked.parser(Object.assign(prose, { links: tokens.links }) as TokensList).trim();
    if (html) blocks.push({ type: 'prose', html, inlines: inlines.slice(first) });
    prose = [];
  };

  for (const token of tokens) {
    const at = offset;
    offset += token.raw.length;
    const code = token.type === 'code' && token.codeBlockStyle !== 'indented' ? token as Tokens.Code : null;
    const fence = code ? cellFence(code.lang, frontMatter.echo) : null;
    if (!code || !fence) { prose.push(token); words += wordCount(token.raw); continue; }
    flushProse();
    const text = code.text.trim();
    const start = at + token.raw.indexOf(text), id = `cell-${cells++}`;
    ranges[id] = [start, start + text.length];
    blocks.push({ type: 'cell', id, source: text, echo: fence.echo, display: fence.display });
  }
  flushProse();

  const keys = addressKeys(blocks.flatMap((b) => (b.type === 'cell' ? [b.source] : [])));
  const minutes = Math.max(1, Math.round(words / 200));
  const { title, summary, order, group } = frontMatter;
  return { meta: { slug, title, summary, order }, blocks, listing: { group, minutes, keys }, markdown: source, ranges };
}

/** Words of prose as a reader meets them (inline `${...}` expressions count as one). */
function wordCount(text: string): number {
  return text.replace(/\$\{[^}]*\}/g, 'x').split(/\s+/).filter((w) => /[A-Za-z0-9]/.test(w)).length;
}

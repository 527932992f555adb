// A marked extension for live `${expr}` in prose. The end of the expression is found by parsing
// it (a `}` inside a string or an object literal does not end it); each becomes an empty span
// that the mounted notebook fills with the expression's value.
import type { MarkedExtension, Tokens } from 'marked';
import { CellParser } from '@observablehq/parser';
import type { InlineExpression } from './types.ts';

interface InlineToken extends Tokens.Generic {
  type: 'nbInline';
  id: string;
  source: string;
}

/** Length of `${expr}` at the start of `src` and the expression's source, or null. */
export function scanInlineExpression(src: string): { length: number; source: string } | null {
  if (!src.startsWith('${')) return null;
  let end: number;
  try {
    const expression = CellParser.parseExpressionAt(src, 2, { ecmaVersion: 'latest' }) as { end: number };
    end = expression.end;
    while (end < src.length && /\s/.test(src[end]!)) end++;
    if (src[end] !== '}') throw new SyntaxError('expected }');
  } catch {
    // Unparseable: take up to the first `}` so the cell reports the syntax error where it is.
    end = src.indexOf('}', 2);
    if (end < 0) return null;
  }
  return { length: end + 1, source: src.slice(2, end).trim() };
}

/**
 * Ids are `inline-<n>` in the order the lexer meets them; `rendered` receives each expression as
 * it is rendered, so a caller rendering token groups one by one knows which belong to which.
 */
export function inlineExpressions(rendered: InlineExpression[]): MarkedExtension {
  let count = 0;
  return {
    extensions: [{
      name: 'nbInline',
      level: 'inline',
      start: (src: string) => {
        const i = src.indexOf('${');
        return i < 0 ? undefined : i;
      },
      tokenizer(src: string): InlineToken | undefined {
        const found = scanInlineExpression(src);
        if (!found) return undefined;
        return { type: 'nbInline', raw: src.slice(0, found.length), id: `inline-${count++}`, source: found.source };
      },
      renderer(token) {
        const { id, source } = token as InlineToken;
        rendered.push({ id, source });
        return `<span class="nb-inline" data-nb-inline="${id}"></span>`;
      },
    }],
  };
}

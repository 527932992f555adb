// YAML front matter of a notebook: the block between a first line `---` and the next `---`.
import { parse as parseYaml } from 'yaml';

export interface FrontMatter {
  title: string;
  summary: string;
  order: number;
  /** Default for showing cell code; a fence's `echo` / `no-echo` overrides it. */
  echo: boolean;
  /** The index heading it is listed under (default "Notebooks"). */
  group: string;
}

/** `order` of a notebook that gives none: last. Finite, so it survives JSON. */
export const UNORDERED = Number.MAX_SAFE_INTEGER;

export class NotebookError extends Error {
  override name = 'NotebookError';
}

/** Split `source` into its front matter and the Markdown body; errors name `file`. */
export function readFrontMatter(source: string, file: string): { frontMatter: FrontMatter; body: string } {
  const lines = source.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines[0]?.trim() !== '---') throw new NotebookError(`${file}: missing front matter (the file must start with a line "---")`);
  const close = lines.indexOf('---', 1);
  if (close < 0) throw new NotebookError(`${file}: front matter is not closed by a line "---"`);

  let data: unknown;
  try {
    data = parseYaml(lines.slice(1, close).join('\n'));
  } catch (e) {
    throw new NotebookError(`${file}: front matter is not valid YAML: ${(e as Error).message}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new NotebookError(`${file}: front matter must be a YAML mapping (title, summary, order)`);
  }
  const { title, summary = '', order = UNORDERED, echo = false, group = 'Notebooks' } = data as Record<string, unknown>;
  if (typeof title !== 'string' || !title.trim()) throw new NotebookError(`${file}: front matter needs a "title" (a non-empty string)`);
  if (typeof summary !== 'string') throw new NotebookError(`${file}: front matter "summary" must be a string`);
  if (typeof order !== 'number' || Number.isNaN(order)) throw new NotebookError(`${file}: front matter "order" must be a number, got ${JSON.stringify(order)}`);
  if (typeof echo !== 'boolean') throw new NotebookError(`${file}: front matter "echo" must be true or false`);
  if (typeof group !== 'string' || !group.trim()) throw new NotebookError(`${file}: front matter "group" must be a non-empty string`);

  return { frontMatter: { title: title.trim(), summary: summary.trim(), order, echo, group: group.trim() }, body: lines.slice(close + 1).join('\n') };
}

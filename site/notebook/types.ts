// The shape of a notebook after parsing: plain JSON, so the Vite plugin can compile a notebook
// at build time and the page only has to mount it.
import type { CellCompileError, CompiledCell } from './compile-cell.ts';

export interface NotebookMeta {
  /** The file name without `.md`; the notebook's address. */
  slug: string;
  title: string;
  summary: string;
  /** Position in the notebook list; notebooks without one come last. */
  order: number;
}

/** What the index and the link builder know of a notebook besides its meta. */
export interface NotebookListing {
  /** The heading it is listed under on the index ("Curriculum", "For instructors", ...; front matter `group`). */
  group: string;
  /** Minutes to read its prose, at 200 words a minute (exercises and computing come on top). */
  minutes: number;
  /** The address keys its cells read or write (`urlState.bind("layer", ...)`), in order of first use. */
  keys: string[];
}

/** Markdown rendered to HTML; each live `${expr}` left as an empty `<span data-nb-inline=id>`. */
export interface ProseBlock {
  type: 'prose';
  html: string;
  inlines: InlineExpression[];
}

export interface InlineExpression {
  id: string;
  source: string;
  /** Its definition, compiled at build time (the Vite plugin): absent, the page compiles it. */
  compiled?: CompiledCell | CellCompileError;
}

/** A fenced ```js cell: Observable JavaScript, compiled when the notebook is mounted. */
export interface CellBlock {
  type: 'cell';
  id: string;
  source: string;
  /** Show the cell's code by default (```js echo, or `echo: true` in the front matter). */
  echo: boolean;
  /** Show the cell's value (false with ```js hide: a cell run for its effect or for its dependents). */
  display: boolean;
  /**
   * `source` compiled at build time (the Vite plugin), so opening a notebook parses no code:
   * absent, the page compiles it. A reader's edit is compiled in the page.
   */
  compiled?: CompiledCell | CellCompileError;
}

export type NotebookBlock = ProseBlock | CellBlock;

export interface ParsedNotebook {
  meta: NotebookMeta;
  blocks: NotebookBlock[];
  listing: NotebookListing;
  /** The notebook's Markdown file as written. */
  markdown: string;
  /** Where each cell's code is in `markdown`, [start, end), by cell id: a download splices edits there. */
  ranges: Record<string, [number, number]>;
}

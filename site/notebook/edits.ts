// A reader's edits to a notebook's cells, kept per notebook in the browser (localStorage), and
// the notebook as Markdown with those edits, for "Download this notebook (.md)". An edit is kept
// with the code it replaced: after the notebook itself changes (a new version of the site), an
// edit of a cell whose original is gone is dropped rather than applied to another cell.
import type { CellBlock, ParsedNotebook } from './types.ts';

interface Kept { original: string; source: string }
type KeptCells = Record<string, Kept>;

export interface NotebookEdits {
  /** The source to run for a cell: the reader's edit if there is one, else its own. */
  sourceOf(cell: CellBlock): string;
  /** Records a cell's new source (the same as the original: the edit is forgotten). */
  record(cell: CellBlock, source: string): void;
  /** Ids of the cells with an edit. */
  edited(): string[];
  /** Forgets every edit of this notebook. */
  clear(): void;
}

const keyOf = (slug: string) => `mixscope:edits:${slug}`;

/** Edits of `nb` in `storage` (null: kept for this page only). */
export function notebookEdits(nb: ParsedNotebook, storage: Storage | null): NotebookEdits {
  const key = keyOf(nb.meta.slug);
  let kept: KeptCells = {};
  try { kept = JSON.parse(storage?.getItem(key) ?? '{}') as KeptCells; } catch { kept = {}; }
  const save = () => {
    try {
      if (Object.keys(kept).length) storage?.setItem(key, JSON.stringify(kept)); else storage?.removeItem(key);
    } catch { /* storage full or refused: the edits live on in the page */ }
  };
  return {
    sourceOf: (cell) => (kept[cell.id]?.original === cell.source ? kept[cell.id]!.source : cell.source),
    record(cell, source) {
      if (source === cell.source) delete kept[cell.id]; else kept[cell.id] = { original: cell.source, source };
      save();
    },
    edited: () => nb.blocks.filter((b): b is CellBlock => b.type === 'cell' && kept[b.id]?.original === b.source).map((b) => b.id),
    clear() { kept = {}; save(); },
  };
}

/** The notebook's Markdown with each cell's code replaced by `sourceOf(cell)`. */
export function notebookMarkdown(nb: ParsedNotebook, sourceOf: (cell: CellBlock) => string): string {
  const cells = nb.blocks.filter((b): b is CellBlock => b.type === 'cell').sort((a, b) => nb.ranges[b.id]![0] - nb.ranges[a.id]![0]);
  let md = nb.markdown;
  for (const cell of cells) {
    const source = sourceOf(cell), [start, end] = nb.ranges[cell.id]!;
    if (source !== cell.source) md = md.slice(0, start) + source + md.slice(end);
  }
  return md;
}

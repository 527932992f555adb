// Mount a parsed notebook into the page: one runtime per notebook, prose and cells in document
// order, each cell and each inline `${expr}` observed where it stands.
import { Runtime } from '@observablehq/runtime';
import { notebookBuiltins } from './builtins.ts';
import { createCellView, type CellView } from './cell-view.ts';
import { defineCell } from './define-cell.ts';
import { createSlicer } from './slices.ts';
import { compileCell, inlineCellSource, type CellCompileError, type CompiledCell } from './compile-cell.ts';
import { inspectError, summary } from './inspector.ts';
import { ensureStyles } from './style.ts';
import type { Observer, Variable } from '@observablehq/runtime';
import type { CellBlock, InlineExpression, ParsedNotebook } from './types.ts';
import { notebookEdits, notebookMarkdown } from './edits.ts';
import { createNotebookTools } from './tools.ts';
import { wrapTables } from './tables.ts';

export interface MountedNotebook {
  runtime: Runtime;
  /** Replace a cell's source (as Shift-Enter does): it and everything that depends on it re-run. */
  redefineCell(id: string, source: string): void;
  /** Stop every cell (generators return, invalidation resolves) and remove the notebook's DOM. */
  dispose(): void;
}

interface MountedCell { view: CellView; variables: Variable[]; source: string; block: CellBlock }

/** What a cell's chip says: the name it defines (`state`, `viewof layer`), or the start of its code. */
export function cellLabel(source: string, compiled: CompiledCell | CellCompileError = compileCell(source)): string {
  if (compiled.ok) {
    const shown = compiled.variables[compiled.display]?.name;
    if (shown) return shown.replace(/^(initial|mutable) /, '');
  }
  // An anonymous block is named by its first line of code, not by its brace.
  const first = source.split('\n').map((l) => l.trim()).find((l) => l && !/^[{}();]*$/.test(l) && !l.startsWith('//')) ?? '';
  return first.length > 28 ? `${first.slice(0, 27)}…` : first;
}

function inlineObserver(span: HTMLElement): Observer {
  return {
    fulfilled(value) {
      span.classList.remove('nb-error');
      if (value instanceof Node) span.replaceChildren(value);
      else span.textContent = typeof value === 'string' ? value : summary(value);
    },
    rejected(error) {
      span.classList.add('nb-error');
      span.textContent = inspectError(error).textContent;
    },
  };
}

/**
 * `builtins` are values every cell can name; `definitions` are functions the runtime calls to
 * get a builtin's value, so a generator there (a stream of models) re-runs its dependents.
 */
export interface MountOptions {
  /** Where a reader's edits are kept across visits (the site passes localStorage); null: this page only. */
  storage?: Storage | null;
}

export function mountNotebook(
  container: HTMLElement,
  nb: ParsedNotebook,
  builtins: Record<string, unknown> = {},
  definitions: Record<string, () => unknown> = {},
  { storage = null }: MountOptions = {},
): MountedNotebook {
  ensureStyles(container.ownerDocument);
  const root = document.createElement('article');
  root.className = 'nb-notebook';
  root.dataset.notebook = nb.meta.slug;
  const title = document.createElement('h1');
  title.className = 'nb-title';
  title.textContent = nb.meta.title;
  root.append(title);
  if (nb.meta.summary) {
    const summaryLine = document.createElement('p');
    summaryLine.className = 'nb-summary';
    summaryLine.textContent = nb.meta.summary;
    root.append(summaryLine);
  }
  const edits = notebookEdits(nb, storage);
  const tools = createNotebookTools(root, {
    edited: () => edits.edited().length,
    reset: () => {
      const ids = edits.edited();
      edits.clear();
      for (const id of ids) { const c = cells.get(id)!; c.view.setSource(c.block.source); redefineCell(id, c.block.source); }
    },
    markdown: () => notebookMarkdown(nb, (b) => cells.get(b.id)?.source ?? b.source),
    slug: nb.meta.slug,
  });
  root.append(tools.node);
  container.append(root);

  const runtime = new Runtime(notebookBuiltins(root, builtins, definitions));
  // The cells' definitions run in slices of about 12 ms, so a notebook opening
  // (or a change that re-runs many cells) never holds the page for long.
  const slice = createSlicer();
  const module = runtime.module();
  const cells = new Map<string, MountedCell>();

  const defineInline = (prose: HTMLElement, { id, source, compiled }: InlineExpression) => {
    const span = prose.querySelector<HTMLElement>(`[data-nb-inline="${id}"]`);
    const cell = inlineCellSource(source);
    if (span) defineCell(module, cell, inlineObserver(span), { compiled: compiled ?? compileCell(cell), slice });
  };
  // What the build compiled is used for the source it compiled; a reader's edit is compiled here.
  const compiledOf = (block: CellBlock, source: string) => (block.compiled && source === block.source ? block.compiled : compileCell(source));

  const redefineCell = (id: string, source: string) => {
    const cell = cells.get(id);
    if (!cell) throw new Error(`notebook ${nb.meta.slug} has no cell ${id}`);
    for (const variable of cell.variables) variable.delete();
    cell.source = source;
    edits.record(cell.block, source);
    cell.view.markEdited(source !== cell.block.source);
    tools.refresh();
    cell.variables = defineCell(module, source, cell.view.observer(), { compiled: compiledOf(cell.block, source), slice });
  };

  for (const block of nb.blocks) {
    if (block.type === 'prose') {
      const prose = document.createElement('div');
      prose.className = 'nb-prose';
      prose.innerHTML = block.html;
      wrapTables(prose);
      root.append(prose);
      for (const inline of block.inlines) defineInline(prose, inline);
      continue;
    }
    const cell = { variables: [], source: edits.sourceOf(block), block } as Partial<MountedCell> as MountedCell;
    cell.view = createCellView(block.id, () => cell.source, block.echo, (source) => redefineCell(block.id, source), block.display, cellLabel(block.source, compiledOf(block, block.source)));
    cells.set(block.id, cell);
    cell.view.markEdited(cell.source !== block.source);
    root.append(cell.view.element);
    cell.variables = defineCell(module, cell.source, cell.view.observer(), { compiled: compiledOf(block, cell.source), slice });
  }

  return {
    runtime,
    redefineCell,
    dispose() {
      slice.dispose();
      runtime.dispose();
      for (const cell of cells.values()) cell.view.destroy();
    tools.destroy();
      root.remove();
    },
  };
}

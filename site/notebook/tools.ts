// The row of tools under a notebook's title: "Code" (on a phone, where there is no margin for
// each cell's toggle, it shows them), a note and "Reset" once the reader has edited a cell (the
// edits are kept in this browser), and "Download this notebook (.md)" with the edits in it.

export interface NotebookToolActions {
  /** How many cells carry an edit. */
  edited(): number;
  reset(): void;
  /** The notebook as Markdown, edits included. */
  markdown(): string;
  slug: string;
}

export function createNotebookTools(root: HTMLElement, actions: NotebookToolActions): { node: HTMLElement; refresh(): void; destroy(): void } {
  const node = document.createElement('div');
  node.className = 'nb-tools';
  const code = button('nb-code-switch', 'Show code', 'Show the code toggles of the cells');
  code.setAttribute('aria-pressed', 'false');
  code.addEventListener('click', () => {
    const on = !root.classList.contains('nb-show-code');
    root.classList.toggle('nb-show-code', on);
    code.setAttribute('aria-pressed', String(on));
    code.textContent = on ? 'Hide code' : 'Show code';
  });
  const note = document.createElement('span');
  note.className = 'nb-edited-note';
  const reset = button('nb-reset', 'Reset', 'Forget your edits: every cell runs its original code again');
  reset.addEventListener('click', () => actions.reset());
  const download = button('nb-download', 'Download this notebook (.md)', 'The notebook as a Markdown file, with your edits');
  download.addEventListener('click', () => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([actions.markdown()], { type: 'text/markdown' }));
    a.download = `${actions.slug}.md`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 0);
  });
  node.append(code, note, reset, download);
  const refresh = () => {
    const n = actions.edited();
    note.hidden = reset.hidden = n === 0;
    note.textContent = n ? `${n} cell${n === 1 ? '' : 's'} edited (kept in this browser)` : '';
  };
  refresh();
  return { node, refresh, destroy: () => {} };
}

function button(className: string, text: string, title: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  b.title = title;
  return b;
}

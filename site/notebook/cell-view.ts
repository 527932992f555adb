// The DOM of one cell (output, "</>" toggle, editor and Run button) and the runtime observer
// that draws its value or error into it.
//
// Toggles cannot overlap: a cell that shows something has its toggle in the margin beside its
// first line (taller than the toggle, so the next cell's starts below it); a cell that shows
// nothing (```js hide, or an anonymous cell run for its effect) is "quiet": its toggle is a
// small labelled chip in the text flow, and consecutive quiet cells share a line of chips.
import type { Observer } from '@observablehq/runtime';
import { createCellEditor, type CellEditor } from './editor.ts';
import { inspect, inspectError } from './inspector.ts';
import { wrapTables } from './tables.ts';
import { whenIdle } from './when-idle.ts';

export interface CellView {
  readonly element: HTMLElement;
  readonly output: HTMLElement;
  /** A fresh observer; observers handed out earlier go quiet, so a replaced definition cannot draw. */
  observer(): Observer;
  /** Puts `source` in the editor (a reset), if the editor has been opened. */
  setSource(source: string): void;
  /** Marks the cell as edited by the reader (its toggle says so). */
  markEdited(edited: boolean): void;
  destroy(): void;
}

/** A plain button of the notebook's chrome (type=button, so it never submits a form). */
export function button(className: string, text: string, title: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  b.title = title;
  return b;
}

/**
 * `label` names the cell on its chip when it is quiet (its variable's name, or the start of its
 * code); `display` false is a ```js hide cell.
 */
export function createCellView(id: string, initialSource: () => string, echo: boolean, run: (source: string) => void, display = true, label = ''): CellView {
  const element = document.createElement('section');
  element.className = 'nb-cell';
  element.dataset.cellId = id;
  const quiet = (yes: boolean) => element.classList.toggle('nb-quiet', yes);
  quiet(!display);
  const output = document.createElement('div');
  output.className = 'nb-output';
  const source = document.createElement('div');
  source.className = 'nb-source';
  const bar = document.createElement('div');
  bar.className = 'nb-source-bar';
  const runButton = button('nb-run', 'Run', 'Run this cell (Shift-Enter)');
  bar.append('Shift-Enter to run', runButton);
  const toggle = button('nb-toggle', '</>', label ? `Show or hide the code of ${label}` : 'Show or hide the code');
  if (label) {
    const name = document.createElement('span');
    name.className = 'nb-toggle-label';
    name.textContent = label;
    toggle.append(name);
  }
  element.append(toggle, output, source);

  // The editor is built the first time the code is shown: most cells are never edited. A cell
  // whose code shows from the start (```js echo) shows it as plain text first and builds its
  // editor when the page is idle, or at once when the reader clicks or tabs into it: building a
  // CodeMirror view reads the page's layout, and a notebook with twenty of them built as it
  // opens would hold the page for a quarter of a second.
  let editor: CellEditor | null = null;
  let text: HTMLElement | null = null;
  let idle: (() => void) | null = null;
  const build = () => {
    if (editor) return;
    idle?.();
    idle = null;
    text?.remove();
    text = null;
    editor = createCellEditor(source, initialSource(), run);
    source.append(bar);
  };
  const show = (visible: boolean, now: boolean) => {
    if (visible && !editor) {
      if (now) build();
      else if (!text) {
        text = document.createElement('pre');
        text.className = 'nb-source-text';
        text.tabIndex = 0;
        text.textContent = initialSource();
        text.title = 'Click to edit';
        const edit = () => { build(); editor?.focus(); };
        text.addEventListener('pointerdown', edit);
        text.addEventListener('focus', edit);
        source.append(text);
        idle = whenIdle(build);
      }
    }
    source.hidden = !visible;
    toggle.setAttribute('aria-expanded', String(visible));
    element.classList.toggle('nb-open', visible);
  };
  show(echo, false);
  toggle.addEventListener('click', () => {
    show(source.hidden, true);
    if (!source.hidden) { build(); editor?.focus(); }
  });
  runButton.addEventListener('click', () => { if (editor) run(editor.source); });

  let generation = 0;
  return {
    element,
    output,
    observer() {
      const mine = ++generation;
      const live = () => mine === generation;
      return {
        pending: () => { if (live()) output.classList.add('nb-running'); },
        fulfilled: (value, name) => {
          if (!live()) return;
          output.classList.remove('nb-running');
          // A hidden cell, or an anonymous cell run for its effect, has nothing to show.
          // Written only when they change: a cell re-run for every token must not restyle the page.
          const hidden = !display || (value === undefined && !name);
          if (output.hidden !== hidden) output.hidden = hidden;
          quiet(hidden);
          if (hidden) { if (output.firstChild) output.replaceChildren(); return; }
          // A cell that returns the node it returned before (a live chart, a line it rewrites)
          // keeps it where it is: taken out and put back, it would be laid out from scratch.
          if (value instanceof Node && output.childNodes.length === 1 && output.firstChild === value) return;
          const shown = inspect(value);
          if (name && !(value instanceof Node)) {
            const label = document.createElement('span');
            label.className = 'nb-name';
            label.textContent = `${name} = `;
            output.replaceChildren(label, shown);
          } else {
            output.replaceChildren(shown);
          }
          if (shown instanceof Element) wrapTables(output);
        },
        rejected: (error) => {
          if (!live()) return;
          output.classList.remove('nb-running');
          output.hidden = false;
          quiet(false);
          output.replaceChildren(inspectError(error));
        },
      };
    },
    setSource: (code) => { if (editor) editor.setSource(code); else if (text) text.textContent = code; },
    markEdited: (edited) => { element.classList.toggle('nb-edited', edited); toggle.title = edited ? 'Show or hide the code (edited by you)' : toggle.title.replace(' (edited by you)', ''); },
    destroy: () => { idle?.(); editor?.destroy(); },
  };
}

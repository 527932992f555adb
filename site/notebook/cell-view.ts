// The DOM of one cell (output, "</>" toggle, editor and Run button) and the runtime observer
// that draws its value or error into it.
import type { Observer } from '@observablehq/runtime';
import { createCellEditor, type CellEditor } from './editor.ts';
import { inspect, inspectError } from './inspector.ts';

export interface CellView {
  readonly element: HTMLElement;
  readonly output: HTMLElement;
  /** A fresh observer; observers handed out earlier go quiet, so a replaced definition cannot draw. */
  observer(): Observer;
  destroy(): void;
}

function button(className: string, text: string, title: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  b.title = title;
  return b;
}

export function createCellView(id: string, initialSource: () => string, echo: boolean, run: (source: string) => void, display = true): CellView {
  const element = document.createElement('section');
  element.className = 'nb-cell';
  element.dataset.cellId = id;
  const output = document.createElement('div');
  output.className = 'nb-output';
  const source = document.createElement('div');
  source.className = 'nb-source';
  const bar = document.createElement('div');
  bar.className = 'nb-source-bar';
  const runButton = button('nb-run', 'Run', 'Run this cell (Shift-Enter)');
  bar.append('Shift-Enter to run', runButton);
  const toggle = button('nb-toggle', '</>', 'Show or hide the code');
  element.append(toggle, output, source);

  // The editor is built the first time the code is shown: most cells are never edited.
  let editor: CellEditor | null = null;
  const show = (visible: boolean) => {
    if (visible && !editor) {
      editor = createCellEditor(source, initialSource(), run);
      source.append(bar);
    }
    source.hidden = !visible;
    toggle.setAttribute('aria-expanded', String(visible));
  };
  show(echo);
  toggle.addEventListener('click', () => {
    show(source.hidden);
    if (!source.hidden) editor?.focus();
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
          output.hidden = !display || (value === undefined && !name);
          if (output.hidden) { output.replaceChildren(); return; }
          const shown = inspect(value);
          if (name && !(value instanceof Node)) {
            const label = document.createElement('span');
            label.className = 'nb-name';
            label.textContent = `${name} = `;
            output.replaceChildren(label, shown);
          } else {
            output.replaceChildren(shown);
          }
        },
        rejected: (error) => {
          if (!live()) return;
          output.classList.remove('nb-running');
          output.hidden = false;
          output.replaceChildren(inspectError(error));
        },
      };
    },
    destroy: () => editor?.destroy(),
  };
}

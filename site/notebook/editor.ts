// The source editor of one cell: CodeMirror 6 with JavaScript highlighting; Shift-Enter runs.
// Assembled from the @codemirror/* packages (the `codemirror` meta package's newest npm release
// is the legacy 5.x line).
import { EditorState, Prec } from '@codemirror/state';
import { EditorView, drawSelection, highlightActiveLine, keymap } from '@codemirror/view';
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { closeBrackets, closeBracketsKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { javascript } from '@codemirror/lang-javascript';

export interface CellEditor {
  readonly source: string;
  /** Replaces the whole text (as a reset does). */
  setSource(source: string): void;
  focus(): void;
  destroy(): void;
}

export function createCellEditor(parent: HTMLElement, source: string, run: (source: string) => void): CellEditor {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: source,
      extensions: [
        // Highest precedence so Shift-Enter runs the cell instead of inserting a line break.
        Prec.highest(keymap.of([{ key: 'Shift-Enter', run: (v) => { run(v.state.doc.toString()); return true; } }])),
        history(),
        // Tab indents inside the editor; Escape then Tab leaves it (CodeMirror's accessible default).
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, indentWithTab]),
        drawSelection(),
        highlightActiveLine(),
        indentOnInput(),
        bracketMatching(),
        closeBrackets(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        javascript(),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ 'aria-label': 'Cell source (Shift-Enter to run)' }),
      ],
    }),
  });
  return {
    get source() { return view.state.doc.toString(); },
    setSource: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}

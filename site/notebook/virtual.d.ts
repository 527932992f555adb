// The module the notebooks plugin (vite-plugin.ts) generates.
declare module 'virtual:mixscope-notebooks' {
  import type { NotebookMeta, ParsedNotebook } from './types.ts';

  export interface NotebookEntry extends NotebookMeta {
    /** The compiled notebook, loaded on demand (its own chunk). */
    load(): Promise<ParsedNotebook>;
  }
  /** Every notebook, sorted by `order`, then title. */
  export const notebooks: NotebookEntry[];
}

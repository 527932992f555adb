// The module the notebooks plugin (vite-plugin.ts) generates. An ambient module cannot import
// relative paths (they silently become `any`), so the shapes of types.ts are restated here;
// vite-plugin.test.ts checks at compile time that the two agree.
declare module 'virtual:mixscope-notebooks' {
  export interface NotebookMeta { slug: string; title: string; summary: string; order: number }
  export interface NotebookListing { group: string; minutes: number; keys: string[] }
  export interface VariableDefinition { name: string | null; inputs: string[]; source: string }
  /** compile-cell.ts: CompiledCell | CellCompileError. */
  export type Compiled = { ok: true; variables: VariableDefinition[]; display: number } | { ok: false; names: string[]; message: string };
  export interface InlineExpression { id: string; source: string; compiled?: Compiled }
  export interface ProseBlock { type: 'prose'; html: string; inlines: InlineExpression[] }
  export interface CellBlock { type: 'cell'; id: string; source: string; echo: boolean; display: boolean; compiled?: Compiled }
  export interface ParsedNotebook { meta: NotebookMeta; blocks: (ProseBlock | CellBlock)[]; listing: NotebookListing; markdown: string; ranges: Record<string, [number, number]> }

  export interface NotebookEntry extends NotebookMeta, NotebookListing {
    /** The compiled notebook, loaded on demand (its own chunk). */
    load(): Promise<ParsedNotebook>;
  }
  /** Every notebook, sorted by `order`, then title. */
  export const notebooks: NotebookEntry[];
}

// The notebook engine's public face: the site mounts notebooks, the Vite config adds the plugin
// (imported from './vite-plugin.ts' directly: it runs in Node).
export { mountNotebook, type MountedNotebook } from './mount.ts';
export { parseNotebook } from './parse.ts';
export { compileCell, type CompiledCell, type CellCompileError, type VariableDefinition } from './compile-cell.ts';
export type { CellBlock, InlineExpression, NotebookBlock, NotebookMeta, ParsedNotebook, ProseBlock } from './types.ts';

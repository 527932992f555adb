// Vite plugin: compiles notebooks/*.md at build time into `virtual:mixscope-notebooks` (see
// virtual.d.ts), reloads the page in dev when a notebook changes, and fails the build with the
// file and the problem when a notebook's front matter is broken. Runs in Node.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Plugin, ViteDevServer } from 'vite';
import { catalogModule, NOTEBOOK_PREFIX, VIRTUAL_ID } from './catalog.ts';
import { compileCell, inlineCellSource } from './compile-cell.ts';
import { parseNotebook } from './parse.ts';
import type { ParsedNotebook } from './types.ts';

export interface NotebooksPluginOptions {
  /** Folder of the notebooks (`*.md`); relative paths are resolved from the working directory. */
  dir: string;
}

const INPUTS_CSS_ID = `${VIRTUAL_ID}/inputs.css`;

/** @observablehq/inputs does not export its stylesheet, so find it next to its entry point. */
function inputsCssPath(): string {
  const entry = createRequire(import.meta.url).resolve('@observablehq/inputs');
  return path.join(path.dirname(entry), 'index.css');
}

export function notebooksPlugin({ dir }: NotebooksPluginOptions): Plugin {
  const root = path.resolve(dir);
  const slugs = () => readdirSync(root).filter((f) => f.endsWith('.md') && f !== 'README.md').map((f) => f.slice(0, -3)).sort();
  const fileOf = (slug: string) => path.join(root, `${slug}.md`);

  return {
    name: 'mixscope-notebooks',

    resolveId(id) {
      if (id === VIRTUAL_ID || id.startsWith(NOTEBOOK_PREFIX)) return `\0${id}`;
      if (id.startsWith(INPUTS_CSS_ID)) return inputsCssPath() + id.slice(INPUTS_CSS_ID.length);
      return null;
    },

    load(id) {
      if (!id.startsWith(`\0${VIRTUAL_ID}`)) return null;
      const read = (slug: string): ParsedNotebook => {
        const file = fileOf(slug);
        this.addWatchFile(file);
        try {
          return parseNotebook(readFileSync(file, 'utf8'), slug);
        } catch (e) {
          this.error(`mixscope notebooks: ${(e as Error).message} (${file})`);
        }
      };
      if (id === `\0${VIRTUAL_ID}`) return catalogModule(slugs().map((slug) => { const nb = read(slug); return { ...nb.meta, ...nb.listing }; }));

      const notebook = read(id.slice(`\0${NOTEBOOK_PREFIX}`.length));
      // Cells and inline expressions are compiled here, once, so that opening a notebook parses
      // no code: the page only turns each definition's source into a function.
      for (const block of notebook.blocks) {
        if (block.type === 'prose') {
          for (const inline of block.inlines) inline.compiled = compileCell(inlineCellSource(inline.source));
          continue;
        }
        const compiled = block.compiled = compileCell(block.source);
        if (!compiled.ok) this.warn(`${notebook.meta.slug}.md ${block.id} does not compile (it will show the error in the page): ${compiled.message}`);
      }
      return `export default ${JSON.stringify(notebook)};\n`;
    },

    configureServer(server: ViteDevServer) {
      server.watcher.add(root);
      const changed = (file: string) => {
        if (path.dirname(path.resolve(file)) !== root || !file.endsWith('.md')) return;
        for (const module of server.moduleGraph.idToModuleMap.values()) {
          if (module.id?.startsWith(`\0${VIRTUAL_ID}`)) server.moduleGraph.invalidateModule(module);
        }
        server.ws.send({ type: 'full-reload' });
      };
      server.watcher.on('add', changed).on('change', changed).on('unlink', changed);
    },
  };
}

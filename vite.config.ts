import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { notebooksPlugin } from './site/notebook/vite-plugin.ts';
import { NOTEBOOK_PREFIX } from './site/notebook/catalog.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Code that runs first in the middle of a page's life is a chunk of its own that V8 compiles whole
// while it loads (Chrome's explicit compile hint, a first-line comment; other browsers ignore it):
// the views (viz/) and d3, whose first draws come with a generation's first token, and the cell
// editor (CodeMirror), built when the page is idle. Compiled lazily on the main thread they cost
// 5-12 ms of a view's 15-25 ms first draw, and 35-45 ms of the first editor's 61 ms, measured on
// the tour and what-is-moe (npm run bench:site). A notebook's cells (one chunk per notebook, loaded
// when it opens) run as it opens, so they are compiled whole too.
const EAGER_CHUNKS: [name: string, modules: RegExp][] = [
  ['viz', /[\\/]viz[\\/]|[\\/]node_modules[\\/]d3/],
  ['editor', /[\\/]node_modules[\\/](@codemirror|@lezer|codemirror|style-mod|w3c-keyname|crelt)[\\/]|[\\/]site[\\/]notebook[\\/]editor\.ts$/],
];
function compileEagerly(): Plugin {
  return {
    name: 'mixscope-compile-eagerly',
    // After minification, which would drop the comment.
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        const notebook = chunk.facadeModuleId?.includes(NOTEBOOK_PREFIX) ?? false;
        if (notebook || EAGER_CHUNKS.some(([name]) => name === chunk.name)) chunk.code = `//# allFunctionsCalledOnLoad\n${chunk.code}`;
      }
    },
  };
}

// The site lives in site/; the engine and views are imported from the repository root.
// base './' makes the static build work from any sub-path of a static host. models/ is the
// public folder, so the default model is served (and copied into the build) at ./mixscope-tiny/.
export default defineConfig({
  root: here('./site'),
  base: './',
  publicDir: here('./models'),
  plugins: [notebooksPlugin({ dir: here('./notebooks') }), compileEagerly()],
  build: {
    outDir: here('./site-dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2048,
    rollupOptions: { output: { manualChunks: (id) => EAGER_CHUNKS.find(([, modules]) => modules.test(id))?.[0] } },
  },
  server: { fs: { allow: [here('.')] } },
  worker: { format: 'es' },
});

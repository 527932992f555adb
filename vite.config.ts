import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { notebooksPlugin } from './site/notebook/vite-plugin.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// The views (viz/) and d3 are a chunk of their own that V8 compiles whole while it loads (Chrome's
// explicit compile hint, a first-line comment; other browsers ignore it). Otherwise every view's
// first draw during a generation compiles its code lazily on the main thread: 5-12 ms of a 15-25 ms
// task, measured on the tour (npm run bench:site).
const VIEWS = /[\\/]viz[\\/]|[\\/]node_modules[\\/]d3/;
const VIEWS_CHUNK = 'viz';
function compileViewsEagerly(): Plugin {
  return {
    name: 'mixscope-compile-views-eagerly',
    // After minification, which would drop the comment.
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type === 'chunk' && chunk.name === VIEWS_CHUNK) chunk.code = `//# allFunctionsCalledOnLoad\n${chunk.code}`;
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
  plugins: [notebooksPlugin({ dir: here('./notebooks') }), compileViewsEagerly()],
  build: {
    outDir: here('./site-dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2048,
    rollupOptions: { output: { manualChunks: (id) => (VIEWS.test(id) ? VIEWS_CHUNK : undefined) } },
  },
  server: { fs: { allow: [here('.')] } },
  worker: { format: 'es' },
});

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { notebooksPlugin } from './site/notebook/vite-plugin.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// The site lives in site/; the engine and views are imported from the repository root.
// base './' makes the static build work from any sub-path of a static host. models/ is the
// public folder, so the default model is served (and copied into the build) at ./mixscope-tiny/.
export default defineConfig({
  root: here('./site'),
  base: './',
  publicDir: here('./models'),
  plugins: [notebooksPlugin({ dir: here('./notebooks') })],
  build: { outDir: here('./site-dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2048 },
  server: { fs: { allow: [here('.')] } },
  worker: { format: 'es' },
});

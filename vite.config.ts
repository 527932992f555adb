import { defineConfig } from 'vite';

// The site lives in site/; the engine and views are imported from the repository root.
// base './' makes the static build work from any sub-path of a static host.
export default defineConfig({
  root: 'site',
  base: './',
  build: { outDir: '../site-dist', emptyOutDir: true, target: 'es2022' },
  server: { fs: { allow: ['..'] } },
  worker: { format: 'es' },
});

// `npm run bench` as one Node ES module for a machine without node_modules (the lent GPU
// machine, see bench/device/README.md): Vite's SSR build bundles the engine, its WGSL (`?raw`)
// and the `webgpu` package's JavaScript; dawn.node travels beside it, where that package's
// index.js looks for it (dist/linux-x64/dawn.node next to the module).
import { defineConfig } from 'vite';

export default defineConfig({
  logLevel: 'warn',
  build: {
    ssr: 'bench/bench.ts',
    outDir: '.device-bench',
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    rollupOptions: { output: { format: 'es', entryFileNames: 'bench.mjs', codeSplitting: false } },
  },
  ssr: { noExternal: true, target: 'node' },
});

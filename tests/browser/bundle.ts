// Bundle a browser entry with Vite (which also inlines the `?raw` WGSL) into a temporary folder.
import { build } from 'vite';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export async function bundleForBrowser(entry: string, name: string): Promise<string> {
  const outDir = mkdtempSync(path.join(tmpdir(), 'mixscope-bundle-'));
  await build({
    configFile: false,
    logLevel: 'silent',
    build: { lib: { entry, formats: ['es'], fileName: () => `${name}.js` }, outDir, emptyOutDir: true, minify: false, target: 'es2022' },
  });
  return outDir;
}

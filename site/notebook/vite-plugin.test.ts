import { describe, expect, it } from 'vitest';
import { build, createServer } from 'vite';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { catalogModule, sortNotebooks } from './catalog.ts';
import { notebooksPlugin } from './vite-plugin.ts';
import type { ParsedNotebook } from './types.ts';
import type { ParsedNotebook as VirtualParsedNotebook } from 'virtual:mixscope-notebooks';

// Compile-time: virtual.d.ts restates types.ts; each must be assignable to the other.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const virtualTypesAgree: Same<ParsedNotebook, VirtualParsedNotebook> = true;

const meta = (slug: string, title: string, order: number) => ({ slug, title, summary: '', order });

/** Build an entry that imports the virtual module, with notebooks written to a temporary folder. */
async function buildNotebooks(files: Record<string, string>): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mixscope-notebooks-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  writeFileSync(path.join(dir, 'entry.js'), "export { notebooks } from 'virtual:mixscope-notebooks';\n");
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    root: dir,
    plugins: [notebooksPlugin({ dir })],
    build: { write: false, lib: { entry: path.join(dir, 'entry.js'), formats: ['es'] }, minify: false },
  });
  const outputs = (Array.isArray(result) ? result[0]! : result) as { output: { code?: string }[] };
  return outputs.output.map((o) => o.code ?? '').join('\n');
}

describe('notebook list', () => {
  it('has the same notebook type in the virtual module as in types.ts', () => expect(virtualTypesAgree).toBe(true));

  it('sorts by order, then title, then slug', () => {
    const sorted = sortNotebooks([meta('c', 'Zeta', 2), meta('b', 'Beta', 1), meta('a', 'Alpha', 2), meta('d', 'Beta', 1)]);
    expect(sorted.map((n) => n.slug)).toEqual(['b', 'd', 'a', 'c']);
  });

  it('exports metadata and a lazy loader per notebook', () => {
    const code = catalogModule([meta('routing', 'Routing', 2)]);
    expect(code).toContain('slug: "routing", title: "Routing", summary: "", order: 2');
    expect(code).toContain('import("virtual:mixscope-notebooks/nb/routing")');
  });
});

describe('notebooksPlugin', () => {
  it('compiles each notebook into the bundle, in list order', async () => {
    const code = await buildNotebooks({
      'b.md': '---\ntitle: Second\norder: 2\n---\nHello ${1 + 1}\n',
      'a.md': '---\ntitle: First\norder: 1\n---\n```js\nx = 1\n```\n',
      'README.md': 'not a notebook',
    });
    expect(code.indexOf('"First"')).toBeGreaterThan(-1);
    expect(code.indexOf('"First"')).toBeLessThan(code.indexOf('"Second"'));
    expect(code).toContain('data-nb-inline');
  });

  it('fails the build with the file and the problem when front matter is broken', async () => {
    await expect(buildNotebooks({ 'broken.md': '---\nsummary: no title\n---\ntext\n' }))
      .rejects.toThrow(/broken\.md: front matter needs a "title"/);
  });

  it('in dev, a changed notebook invalidates the virtual modules and reloads the page', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mixscope-notebooks-dev-'));
    writeFileSync(path.join(dir, 'a.md'), '---\ntitle: Before\n---\ntext\n');
    const server = await createServer({
      configFile: false, logLevel: 'silent', root: dir,
      plugins: [notebooksPlugin({ dir })],
      server: { middlewareMode: true, ws: false, watch: { usePolling: true, interval: 50 } },
    });
    const sent: unknown[] = [];
    server.ws.send = ((payload: unknown) => { sent.push(payload); }) as typeof server.ws.send;
    try {
      expect((await server.transformRequest('virtual:mixscope-notebooks'))!.code).toContain('"Before"');
      await new Promise((r) => setTimeout(r, 300));
      writeFileSync(path.join(dir, 'a.md'), '---\ntitle: After\n---\ntext\n');
      await expect.poll(() => sent, { timeout: 5000 }).toContainEqual({ type: 'full-reload' });
      expect((await server.transformRequest('virtual:mixscope-notebooks'))!.code).toContain('"After"');
    } finally {
      await server.close();
    }
  });
});

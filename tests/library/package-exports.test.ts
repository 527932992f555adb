// The engine is a library: `import ... from 'mixscope'` works in Node with types, and the
// browser entry pulls in no Node module.
import { describe, expect, it, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = path.join(root, 'dist', 'engine');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Files reachable from an entry through relative imports. */
function reachable(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) visit(path.resolve(path.dirname(file), m[1]));
  };
  visit(entry);
  return [...seen];
}

describe('the engine as a package', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  }, 120_000);

  it('builds JavaScript with type declarations for every module', () => {
    const files = walk(dist);
    expect(files).toContain(path.join(dist, 'index.js'));
    expect(files).toContain(path.join(dist, 'index.d.ts'));
    expect(files).toContain(path.join(dist, 'node.d.ts'));
  });

  it('the browser entry imports no Node built-in', () => {
    for (const f of reachable(path.join(dist, 'index.js'))) {
      expect(readFileSync(f, 'utf8'), f).not.toMatch(/from\s+['"]node:|require\(/);
    }
  });

  it('a script imports it by name and runs a forward pass', () => {
    const script = `
      import { CpuEngine, parseConfig, hookNames } from 'mixscope';
      import { loadModelDirectory } from 'mixscope/node';
      const ckpt = await loadModelDirectory(${JSON.stringify(path.join(root, 'tests/fixtures/golden/f32-mha-e8-k1'))});
      const engine = new CpuEngine(ckpt.config, ckpt.weights);
      const r = await engine.forward([1, 2, 3], { hooks: ['blocks.0.moe.hook_expert_choice'] });
      console.log(JSON.stringify({ v: r.logits.length, hooks: [...r.hooks.keys()], n: hookNames(ckpt.config).length, ok: typeof parseConfig }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    const parsed = JSON.parse(out.trim());
    expect(parsed.hooks).toEqual(['blocks.0.moe.hook_expert_choice']);
    expect(parsed.v).toBeGreaterThan(0);
    expect(parsed.ok).toBe('function');
  });
});

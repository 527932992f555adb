// The address keys a notebook uses, found by parsing its cells (never by matching text): every
// `urlState.bind("key", ...)`, `urlState.get("key")` and `urlState.set("key", ...)` whose key is
// a string literal. The index and the link builder list them; a test opens each one.
import { parseCell } from '@observablehq/parser';

interface Node { type: string; [field: string]: unknown }

const VERBS = new Set(['bind', 'get', 'set']);

/** Keys in order of first use over `sources` (cells that do not parse contribute none). */
export function addressKeys(sources: readonly string[]): string[] {
  const keys: string[] = [];
  for (const source of sources) {
    let cell: Node;
    try { cell = parseCell(source) as unknown as Node; } catch { continue; }
    visit(cell, (node) => {
      if (node.type !== 'CallExpression') return;
      const callee = node.callee as Node, args = node.arguments as Node[];
      if (callee.type !== 'MemberExpression' || (callee.object as Node).type !== 'Identifier' || (callee.object as Node).name !== 'urlState') return;
      const verb = callee.property as Node;
      if (callee.computed || verb.type !== 'Identifier' || !VERBS.has(verb.name as string)) return;
      const key = args[0];
      if (key?.type === 'Literal' && typeof key.value === 'string' && !keys.includes(key.value)) keys.push(key.value);
    });
  }
  return keys;
}

function visit(node: unknown, fn: (node: Node) => void): void {
  if (Array.isArray(node)) { for (const n of node) visit(n, fn); return; }
  if (node === null || typeof node !== 'object' || typeof (node as Node).type !== 'string') return;
  fn(node as Node);
  for (const [field, value] of Object.entries(node)) if (field !== 'type' && value && typeof value === 'object') visit(value, fn);
}

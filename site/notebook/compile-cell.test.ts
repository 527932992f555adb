import { describe, expect, it } from 'vitest';
import { compileCell, instantiate, type CompiledCell } from './compile-cell.ts';

function compiled(source: string): CompiledCell {
  const result = compileCell(source);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(source)} to compile: ${result.message}`);
  return result;
}
const shape = (c: CompiledCell) => c.variables.map((v) => ({ name: v.name, inputs: v.inputs }));

describe('compileCell', () => {
  it('names a cell `x = expr` x, with its free references as inputs (locals and globals excluded)', () => {
    const c = compiled('x = a + b.reduce((s, d) => s + d * a, 0) + Math.max(c, 1)');
    expect(shape(c)).toEqual([{ name: 'x', inputs: ['a', 'b', 'c'] }]);
    expect(instantiate(c.variables[0]!)(2, [3, 4], 5)).toBe(2 + 14 + 5);
  });

  it('leaves an expression cell anonymous and a block cell returns its value', () => {
    expect(shape(compiled('1 + 2'))).toEqual([{ name: null, inputs: [] }]);
    const block = compiled('total = { let s = 0; for (const v of values) s += v; return s; }');
    expect(shape(block)).toEqual([{ name: 'total', inputs: ['values'] }]);
    expect(instantiate(block.variables[0]!)([1, 2, 3])).toBe(6);
  });

  it('compiles viewof x to `viewof x` (displayed) and x = Generators.input(viewof x)', () => {
    const c = compiled('viewof k = Inputs.range([1, 8], {step: 1, value: 2})');
    expect(shape(c)).toEqual([
      { name: 'viewof k', inputs: ['Inputs'] },
      { name: 'k', inputs: ['Generators', 'viewof k'] },
    ]);
    expect(c.display).toBe(0);
    const input = Symbol('input');
    expect(instantiate(c.variables[1]!)({ input: (el: unknown) => [el] }, input)).toEqual([input]);
  });

  it('compiles mutable x to initial/mutable/x, displays x, and rewrites `mutable x` references to .value', () => {
    const c = compiled('mutable count = 0');
    expect(shape(c)).toEqual([
      { name: 'initial count', inputs: [] },
      { name: 'mutable count', inputs: ['Mutable', 'initial count'] },
      { name: 'count', inputs: ['mutable count'] },
    ]);
    expect(c.display).toBe(2);

    const bump = compiled('bump = () => ++mutable count + viewof k.value + k');
    expect(shape(bump)).toEqual([{ name: 'bump', inputs: ['mutable count', 'viewof k', 'k'] }]);
    const m = { value: 1 };
    const f = instantiate(bump.variables[0]!)(m, { value: 10 }, 100) as () => number;
    expect(f()).toBe(112);
    expect(m.value).toBe(2);
  });

  it('marks cells that yield as generators and cells that await as async', () => {
    const gen = compiled('ticks = { for (let i = 0; i < 3; ++i) yield i; }');
    expect(gen.variables[0]!.source).toMatch(/^function\*/);
    expect([...(instantiate(gen.variables[0]!)() as Iterable<number>)]).toEqual([0, 1, 2]);
    expect(compiled('data = { const r = await fetchIt(); return r; }').variables[0]!.source).toMatch(/^async function\(fetchIt\)/);
    // A generator *function* as a cell value is not itself a generator cell.
    expect(compiled('function* g() { yield 1; }').variables[0]).toMatchObject({ name: 'g', source: expect.stringMatching(/^function\(\)/) });
  });

  it('reports a syntax error as a value, with the name the cell meant to define', () => {
    expect(compileCell('y = 1 +')).toEqual({ ok: false, names: ['y'], message: expect.stringMatching(/Unexpected end of input \(1:7\)/) });
    expect(compileCell('viewof z = (')).toMatchObject({ ok: false, names: ['z', 'viewof z'] });
    expect(compileCell('x = 1; y = 2')).toMatchObject({ ok: false });
    expect(compileCell('import {a} from "b"')).toMatchObject({ ok: false, message: expect.stringMatching(/imports are not supported/) });
  });

  it('compiles md and html templates as references to the md and html builtins', () => {
    expect(shape(compiled('md`# Hello ${name}`'))).toEqual([{ name: null, inputs: ['md', 'name'] }]);
  });
});

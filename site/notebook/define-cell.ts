// Cell source -> live runtime variables. A cell that does not compile still becomes variables:
// one that shows the error, and one per name it meant to define, so its dependents fail with
// the same message instead of "x is not defined" (or, worse, picking up a window global).
import type { Module, Observer, Variable } from '@observablehq/runtime';
import { compileCell, instantiate, type CellCompileError, type CompiledCell } from './compile-cell.ts';
import type { Slice } from './slices.ts';

function thrower(error: Error) {
  return () => { throw error; };
}

export interface DefineOptions {
  /** `source` already compiled (at build time); otherwise it is compiled here. */
  compiled?: CompiledCell | CellCompileError;
  /** Runs each definition in the notebook's slices of work (slices.ts); by default at once. */
  slice?: Slice;
}

export function defineCell(module: Module, source: string, observer: Observer, { compiled = compileCell(source), slice = (f) => f }: DefineOptions = {}): Variable[] {
  if (compiled.ok) {
    try {
      const definitions = compiled.variables.map((v) => slice(instantiate(v)));
      return compiled.variables.map((v, i) =>
        module.variable(i === compiled.display ? observer : undefined).define(v.name, v.inputs, definitions[i]!));
    } catch (e) {
      // The parser accepted something the engine does not: report it like a syntax error.
      const error = e as Error;
      const names = compiled.variables.map((v) => v.name).filter((n): n is string => n !== null);
      return [module.variable(observer).define(null, [], thrower(error)), ...names.map((n) => module.variable().define(n, [], thrower(error)))];
    }
  }
  const error = new SyntaxError(compiled.message);
  return [
    module.variable(observer).define(null, [], thrower(error)),
    ...compiled.names.map((name) => module.variable().define(name, [], thrower(error))),
  ];
}

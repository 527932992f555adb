// Observable JavaScript cell -> runtime variable definitions, by parsing it with
// @observablehq/parser: the cell's name comes from the parse, its inputs are its free references.
// Pure: the definitions carry function source; `instantiate` turns them into functions.
//
//   x = expr             one variable `x`
//   expr                 one anonymous variable
//   viewof x = expr      `viewof x` (the element, displayed) and `x` = Generators.input(viewof x)
//   mutable x = expr     `initial x`, `mutable x` = new Mutable(initial x), and `x` (displayed),
//                        the Mutable's generator
// A reference to `viewof x` in a body becomes a parameter bound to `viewof x`; `mutable x`
// becomes `<param>.value`, so reading and assigning both go through the Mutable.
import { parseCell, peekId } from '@observablehq/parser';

export interface VariableDefinition {
  /** Runtime name: `x`, `viewof x`, `mutable x`, `initial x`, or null when anonymous. */
  name: string | null;
  inputs: string[];
  /** A function expression whose parameters are bound to `inputs`, in order. */
  source: string;
}

export interface CompiledCell {
  ok: true;
  variables: VariableDefinition[];
  /** The variable whose value the cell displays (index into `variables`). */
  display: number;
}

export interface CellCompileError {
  ok: false;
  /** The names the cell tried to define, so dependents fail with its error, not "not defined". */
  names: string[];
  message: string;
}

interface Node { type: string; start: number; end: number; name?: string; id?: Node }
interface Cell { id: Node | null; body: Node | null; async: boolean; generator: boolean; references: Node[] }

const GENERATORS_INPUT = '(Generators, element) => Generators.input(element)';
const NEW_MUTABLE = '(Mutable, value) => new Mutable(value)';
const MUTABLE_GENERATOR = '(mutable) => mutable.generator';

function referenceName(node: Node): string {
  if (node.type === 'ViewExpression') return `viewof ${node.id!.name}`;
  if (node.type === 'MutableExpression') return `mutable ${node.id!.name}`;
  return node.name!;
}

/** The body as a function of its inputs, with `viewof x`/`mutable x` rewritten to parameters. */
function bodyFunction(source: string, cell: Cell): { inputs: string[]; source: string } {
  const body = cell.body!;
  const inputs: string[] = [];
  const params: string[] = [];
  const rewrites: { start: number; end: number; text: string }[] = [];
  for (const node of cell.references) {
    const name = referenceName(node);
    let index = inputs.indexOf(name);
    if (index < 0) {
      index = inputs.push(name) - 1;
      params.push(node.type === 'Identifier' ? name : `$${index}`);
    }
    if (node.type === 'ViewExpression') rewrites.push({ start: node.start, end: node.end, text: params[index]! });
    if (node.type === 'MutableExpression') rewrites.push({ start: node.start, end: node.end, text: `${params[index]}.value` });
  }

  let text = source.slice(body.start, body.end);
  for (const r of rewrites.sort((a, b) => b.start - a.start)) {
    text = text.slice(0, r.start - body.start) + r.text + text.slice(r.end - body.start);
  }
  const block = body.type === 'BlockStatement' ? text : `{\nreturn (\n${text}\n);\n}`;
  const keyword = `${cell.async ? 'async ' : ''}function${cell.generator ? '*' : ''}`;
  return { inputs, source: `${keyword}(${params.join(', ')}) ${block}` };
}

/** What a cell that does not parse meant to define, from its first tokens. */
function intendedNames(source: string): string[] {
  let name: string | undefined;
  try { name = peekId(source); } catch { return []; }
  if (!name) return [];
  const modifier = source.trimStart().split(/\s/, 1)[0];
  return modifier === 'viewof' || modifier === 'mutable' ? [name, `${modifier} ${name}`] : [name];
}

export function compileCell(source: string): CompiledCell | CellCompileError {
  let cell: Cell;
  try {
    cell = parseCell(source) as Cell;
  } catch (e) {
    return { ok: false, names: intendedNames(source), message: (e as Error).message };
  }
  if (cell.body?.type === 'ImportDeclaration') {
    return { ok: false, names: [], message: 'imports are not supported in Mixscope notebooks; the builtins are already in scope' };
  }
  if (!cell.body) return { ok: true, variables: [{ name: null, inputs: [], source: 'function() {}' }], display: 0 };

  const body = bodyFunction(source, cell);
  const id = cell.id;
  if (id?.type === 'ViewExpression') {
    const name = id.id!.name!;
    return {
      ok: true,
      display: 0,
      variables: [
        { name: `viewof ${name}`, ...body },
        { name, inputs: ['Generators', `viewof ${name}`], source: GENERATORS_INPUT },
      ],
    };
  }
  if (id?.type === 'MutableExpression') {
    const name = id.id!.name!;
    return {
      ok: true,
      display: 2,
      variables: [
        { name: `initial ${name}`, ...body },
        { name: `mutable ${name}`, inputs: ['Mutable', `initial ${name}`], source: NEW_MUTABLE },
        { name, inputs: [`mutable ${name}`], source: MUTABLE_GENERATOR },
      ],
    };
  }
  return { ok: true, display: 0, variables: [{ name: id?.name ?? null, ...body }] };
}

/** The cell an inline `${expr}` is: parenthesized, it can only be an expression (never a named cell). */
export function inlineCellSource(expression: string): string {
  return `(${expression}\n)`;
}

/** Turn a definition's source into a function (only in the page: it evaluates code). */
export function instantiate(definition: VariableDefinition): (...inputs: unknown[]) => unknown {
  return new Function(`return (${definition.source}\n);`)() as (...inputs: unknown[]) => unknown;
}

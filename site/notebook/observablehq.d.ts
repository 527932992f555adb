// The Observable packages ship no types; these cover the parts the notebook uses.

declare module '@observablehq/parser' {
  export function parseCell(input: string, options?: Record<string, unknown>): unknown;
  export function peekId(input: string): string | undefined;
  export class CellParser {
    static parseExpressionAt(input: string, pos: number, options?: Record<string, unknown>): unknown;
  }
}

declare module '@observablehq/runtime' {
  export interface Observer {
    pending?(): void;
    fulfilled?(value: unknown, name: string | null): void;
    rejected?(error: unknown, name: string | null): void;
  }
  export interface Variable {
    define(name: string | null, inputs: string[], definition: (...inputs: any[]) => unknown): Variable;
    delete(): Variable;
  }
  export interface Module {
    variable(observer?: Observer): Variable;
    value(name: string): Promise<unknown>;
  }
  export class Runtime {
    /** Each builtin is a definition: a function is called (once) to produce the value. */
    constructor(builtins?: Record<string, unknown>, global?: (name: string) => unknown);
    module(): Module;
    dispose(): void;
  }
  export class RuntimeError extends Error {
    constructor(message: string, input?: string);
  }
}

declare module '@observablehq/inputs' {
  const Inputs: Record<string, (...args: any[]) => HTMLElement>;
  export = Inputs;
}

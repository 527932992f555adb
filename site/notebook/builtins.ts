// The names every cell can use. @observablehq/runtime 6 ships no standard library (its builtins
// are whatever the page passes), and the classic one loads `require`, `md` and friends from a
// CDN; the site works offline, so everything here comes from installed packages.
//
// The runtime treats a builtin as a definition: a function is *called* to get the value (that is
// how `now` and `width` become generators), so plain values are wrapped in a constant.
import * as d3 from 'd3';
import * as Inputs from '@observablehq/inputs';
import { html, svg } from 'htl';
import { Generators, now, width } from './generators.ts';
import { md } from './md.ts';
import { Mutable } from './mutable.ts';

const constant = (value: unknown) => () => value;

/**
 * Definitions for `new Runtime(...)`: md, html, svg, Inputs, Generators, Mutable, d3, now, width
 * (of `container`), then the host's own values (`viz`, ...), then the host's own definitions
 * (functions the runtime calls, e.g. a generator: `mixscope` yields a new API per loaded model),
 * which may override them.
 * `invalidation`, `visibility` and `@variable` are provided by the runtime's modules themselves.
 */
export function notebookBuiltins(
  container: HTMLElement,
  host: Record<string, unknown> = {},
  definitions: Record<string, () => unknown> = {},
): Record<string, unknown> {
  const builtins: Record<string, unknown> = {
    md: constant(md),
    html: constant(html),
    svg: constant(svg),
    Inputs: constant(Inputs),
    Generators: constant(Generators),
    Mutable: constant(Mutable),
    d3: constant(d3),
    now,
    width: () => width(container),
  };
  for (const [name, value] of Object.entries(host)) builtins[name] = constant(value);
  Object.assign(builtins, definitions);
  return builtins;
}

// Compare mode: two runs side by side and the difference of their routing. A run is a text (or
// ids), a text with interventions, or a Trace made before (by another prompt, or another model
// whose trace a cell kept): any notebook draws the two traces with the usual views and the
// difference with viz.createRoutingDiff.
import type { Intervention } from '../../engine/hooks/interventions.ts';
import { compareRouting, type RoutingDifference } from '../../engine/compare/compare-routing.ts';
import type { Trace } from './types.ts';

export type CompareInput = string | number[] | { text: string | number[]; interventions?: Intervention[]; label?: string } | Trace;

export interface Comparison {
  a: Trace;
  b: Trace;
  /** What each run is, for titles: its text, with "+ interventions" where it has them. */
  labels: [string, string];
  difference: RoutingDifference;
}

/** The part of the client compare needs: traces. */
interface Tracer { trace(text: string | number[], options?: { interventions?: Intervention[]; attention?: boolean }): Promise<Trace> }

const isTrace = (x: CompareInput): x is Trace => typeof x === 'object' && !Array.isArray(x) && 'routing' in x;

async function run(client: Tracer, x: CompareInput): Promise<{ trace: Trace; label: string }> {
  if (isTrace(x)) return { trace: x, label: x.tokens.map((t) => t.text).join('') };
  const spec = typeof x === 'string' || Array.isArray(x) ? { text: x } : x;
  const trace = await client.trace(spec.text, { interventions: spec.interventions, attention: false });
  const text = typeof spec.text === 'string' ? spec.text : trace.tokens.map((t) => t.text).join('');
  const n = spec.interventions?.length ?? 0;
  return { trace, label: ('label' in spec && spec.label) || (n ? `${text} + ${n} intervention${n > 1 ? 's' : ''}` : text) };
}

export async function compareRuns(client: Tracer, a: CompareInput, b: CompareInput): Promise<Comparison> {
  const ra = await run(client, a), rb = await run(client, b);
  return { a: ra.trace, b: rb.trace, labels: [ra.label, rb.label], difference: compareRouting(ra.trace.routing, rb.trace.routing) };
}

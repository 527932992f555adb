// Colour for many experts. Eight distinct colours cannot name 64 or 128 experts, so past
// MANY_EXPERTS the views stop trying: the FOCUS experts used most (counted over the top-k choices
// of the tokens drawn, in every layer, so that an expert has one colour in every view and layer of
// a page, as with 8 experts) get the first seven Okabe–Ito colours, and every other expert one
// light grey ("context"). Which expert a mark is stays on hover (tooltips name it) and in the
// focus legend; the expert-load view sorts its bars by load so the shape of the imbalance reads at
// a glance. Up to MANY_EXPERTS nothing changes: expertColor as before (8 experts: Okabe–Ito).
import { expertColor, OKABE_ITO } from './palette.ts';
import type { RoutingData } from './types.ts';

/** Above this many experts, views colour the focus experts only. */
export const MANY_EXPERTS = 32;
/** Focus experts: Okabe–Ito's first seven (its eighth, dark grey, would read as "other"). */
export const FOCUS = 7;
/** Every expert outside the focus. */
export const OTHER_EXPERT = '#cfd3d8';

/** Colours of one layer's experts, and which experts are in focus (most chosen first). */
export interface ExpertPaint {
  color(e: number): string;
  /** Experts with their own colour, most used first (every expert when E <= MANY_EXPERTS). */
  focus: number[];
  many: boolean;
}

/** Top-k choices per expert in `layer` (all layers when null), over the tokens in `data`. */
export function choiceCounts(data: RoutingData, layer: number | null): number[] {
  const counts = new Array<number>(data.experts).fill(0);
  const layers = layer === null ? data.layers : [data.layers[layer]].filter(Boolean);
  for (const L of layers) for (let i = 0; i < L.indices.length; i++) counts[L.indices[i]]++;
  return counts;
}

/** The paint of a layer: expertColor for few experts, focus + context for many. */
export function expertPaint(data: RoutingData, layer: number | null): ExpertPaint {
  return paintFromCounts(data.experts, data.experts > MANY_EXPERTS ? choiceCounts(data, layer) : []);
}

/**
 * The paint of E experts chosen `counts[e]` times (top-k choices): for views whose data is counted
 * already (the expert dashboard's report), so that they colour as the routing views do.
 */
export function paintFromCounts(E: number, counts: readonly number[]): ExpertPaint {
  if (E <= MANY_EXPERTS) return { color: (e) => expertColor(e, E), focus: Array.from({ length: E }, (_, e) => e), many: false };
  const focus = counts.map((n, e) => ({ n, e })).filter((d) => d.n > 0)
    .sort((a, b) => b.n - a.n || a.e - b.e).slice(0, FOCUS).map((d) => d.e);
  const colors = new Map(focus.map((e, i) => [e, OKABE_ITO[i]] as const));
  return { color: (e) => colors.get(e) ?? OTHER_EXPERT, focus, many: true };
}

/** A key that changes when the paint does (for views that redraw only what changed). */
export function paintKey(p: ExpertPaint): string {
  return p.many ? p.focus.join(',') : '';
}

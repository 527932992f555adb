// Colours: one per expert, and a sequential scale for probabilities.
import { hsl, interpolateBlues, interpolateGreys, scaleSequentialSqrt, type ScaleSequential } from 'd3';

/**
 * Okabe & Ito's colour-blind-safe qualitative palette, in their order. Their eighth colour is
 * black; a dark grey replaces it so that black text, outlines and the hover ring stay distinct.
 */
export const OKABE_ITO = ['#E69F00', '#56B4E9', '#009E73', '#F0E442', '#0072B2', '#D55E00', '#CC79A7', '#5F5F5F'] as const;

/**
 * The colour of expert `e` out of `E`. Up to 8 experts use Okabe–Ito; beyond that each further
 * block of 8 reuses the same hues alternately lighter and darker, so hue still names the expert
 * family and lightness tells the block (no palette stays colour-blind-safe past ~8 hues).
 */
export function expertColor(e: number, E: number = 8): string {
  const base = OKABE_ITO[((e % 8) + 8) % 8];
  const block = Math.floor(e / 8);
  if (E <= 8 || block === 0) return base;
  const c = hsl(base);
  const step = Math.ceil(block / 2) * 0.22;
  c.l = block % 2 === 1 ? Math.min(0.88, c.l + step) : Math.max(0.18, c.l - step);
  return c.formatHex();
}

/** Black or white, whichever reads better on `background` (WCAG relative luminance). */
export function textColorOn(background: string): string {
  const c = hsl(background).rgb();
  const lin = (v: number) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
  const L = 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
  return L > 0.22 ? '#111' : '#fff';
}

/**
 * Probabilities to colour: white to blue on a square-root scale, because router and attention
 * probabilities pile up near 0 and a linear scale would show almost every cell as white.
 */
export function probabilityScale(max = 1): ScaleSequential<string> {
  return scaleSequentialSqrt(interpolateBlues).domain([0, max]).clamp(true);
}

/**
 * Router probabilities, under marks in the experts' colours: white to charcoal, a scale with no
 * hue, so no expert's colour is lost against (or mistaken for) a cell. Square root, as above.
 */
export function routerScale(max = 1): ScaleSequential<string> {
  return scaleSequentialSqrt((t: number) => interpolateGreys(0.05 + 0.8 * t)).domain([0, max]).clamp(true);
}

/**
 * Colours for categories that are not experts (held-out domains, parts of a model, kinds of
 * run): chosen far in Lab from every expert colour (more than 35), so a domain is never read as
 * an expert on a page that shows both. Navy, magenta, leaf green, brown, maroon, salmon.
 */
export const CATEGORY_COLORS = ['#000080', '#f0027f', '#66a61e', '#8c6d31', '#800000', '#fb8072'] as const;

/** Two models side by side (a Mixture of Experts and a dense one): near black and light grey, no expert hue. */
export const MODEL_COLORS = { moe: '#2b2d42', dense: '#b8b8b8' } as const;

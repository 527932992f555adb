// Co-activation matrix: for one layer, how often two experts are chosen for the same token (the
// `coactivation` of `analyze`). 'share' colours each pair by the share of tokens whose top-k set
// holds both; 'lift' by that share over what independent choices would give (share_e x share_f),
// red above 1 (chosen together more often), blue below. The diagonal is the expert's own share.
import { interpolateGreys, interpolateRdBu, scaleDiverging, scaleSequentialSqrt, select } from 'd3';
import { probabilityScale } from './palette.ts';
import { drawMatrix, matrixCell, pickExpert, textWidth, MATRIX_MARGIN } from './matrix.ts';
import { mountView, BASE_DEFAULTS, type BaseOptions, type View, type ViewState } from './view.ts';
import type { StructureData } from './research-types.ts';

export interface CoactivationOptions extends BaseOptions {
  layer: number;
  normalize: 'share' | 'lift';
}

type State = ViewState<StructureData, CoactivationOptions>;

const clampLayer = (d: StructureData, l: number) => Math.max(0, Math.min(d.layers.length - 1, Math.floor(l) || 0));

/** Lift of a pair over independence; 1 where either expert is never chosen (nothing to say). */
export function pairLift(m: number[][], e: number, f: number): number {
  const expected = m[e][e] * m[f][f];
  return expected > 0 ? m[e][f] / expected : 1;
}

function draw(s: State): void {
  const { data, options } = s;
  const layer = clampLayer(data, options.layer);
  const m = data.layers[layer].coactivation;
  const E = m.length;
  const cell = matrixCell(Math.min(options.width, 560), E);
  const title = `layer ${layer}: ${options.normalize === 'lift' ? 'chosen together vs independent' : 'share of tokens choosing both'}`;
  // Wide enough for the title, however few experts.
  const side = Math.max(MATRIX_MARGIN.left + E * cell + 8, Math.min(options.width, MATRIX_MARGIN.left + textWidth(title, true) + 8));
  const height = MATRIX_MARGIN.top + E * cell + 6;
  const offMax = Math.max(1e-9, ...m.flatMap((row, e) => row.filter((_, f) => f !== e)));
  const share = probabilityScale(offMax);
  // The diagonal is another quantity (one expert's share): greys, so it never reads as a pair.
  const diag = scaleSequentialSqrt(interpolateGreys).domain([0, Math.max(1e-9, ...m.map((row, e) => row[e]))]);
  // log2 lift in [-2, 2]: a quarter to four times what independence gives.
  const lift = scaleDiverging(interpolateRdBu).domain([2, 0, -2]).clamp(true);
  const color = (e: number, f: number) => {
    if (e === f) return diag(m[e][e]);
    if (options.normalize === 'lift') return lift(Math.log2(Math.max(1e-6, pairLift(m, e, f))));
    return share(m[e][f]);
  };
  const svg = select(s.body).selectAll<SVGSVGElement, null>('svg').data([null]).join('svg')
    .attr('width', side).attr('height', height).attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);
  const g = svg.selectAll<SVGGElement, null>('g.mx-coact').data([null]).join('g').attr('class', 'mx-coact') as unknown as Parameters<typeof drawMatrix>[0];
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  drawMatrix(g, {
    n: E, cell, color, rowLayer: layer, colLayer: layer, rowName: 'expert', colName: 'expert',
    title,
    tooltip: (e, f) => e === f
      ? [`layer ${layer} · E${e}`, `in the top-${data.top_k} set of ${pct(m[e][e])} of tokens`]
      : [`layer ${layer} · E${e} with E${f}`, `both chosen for ${pct(m[e][f])} of tokens`, `${pairLift(m, e, f).toFixed(2)}× what independent choices give`],
  }, { show: (l, ev) => s.tooltip.show(l, ev), hide: () => s.tooltip.hide(), pick: (e) => pickExpert(s.body, s.options.onExpert, layer, e) });
}

export function createCoactivation(data: StructureData, options: Partial<CoactivationOptions> = {}): View<StructureData, CoactivationOptions> {
  const o: CoactivationOptions = { ...BASE_DEFAULTS, title: 'Expert co-activation', layer: 0, normalize: 'share', maxHeight: 720, ...options };
  return mountView<StructureData, CoactivationOptions>({
    name: 'coactivation',
    hint: 'No analysis yet: run mixscope.analyze(text) for co-activation.',
    isEmpty: (d) => !d || d.layers.length === 0 || !d.layers[0].coactivation,
    // Past 16 experts the axis labels carry the colours: a swatch per expert would only crowd the view.
    legend: (d, opt) => ({
      experts: d.experts <= 16 ? d.experts : 0,
      note: opt.normalize === 'lift' ? 'red: chosen together more often than independently, blue: less · grey diagonal: the expert\'s share' : `cell: share of tokens whose top-${d.top_k} set holds both (white → blue) · grey diagonal: the expert's share`,
    }),
    draw,
    highlight: () => {},
    rows: (d, opt) => {
      const layer = clampLayer(d, opt.layer), m = d.layers[layer].coactivation;
      return m.flatMap((row, e) => row.map((x, f) => ({ layer, expert: e, with: f, share: x, lift: e === f ? 1 : pairLift(m, e, f) })));
    },
    svg: (s) => s.body.querySelector('svg'),
  }, data, o);
}

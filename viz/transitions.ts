// Transitions across layers: for each pair of consecutive layers, P(first choice f at layer l+1 |
// first choice e at layer l) (the `transition` of `analyze`), one matrix per pair, rows the
// earlier layer's expert. A row concentrated in one cell means tokens keep a path through the
// network; a flat row means the next layer routes them afresh.
import { select } from 'd3';
import { probabilityScale } from './palette.ts';
import { drawMatrix, matrixCell, pickExpert, MATRIX_MARGIN } from './matrix.ts';
import { mountView, BASE_DEFAULTS, type BaseOptions, type View, type ViewState } from './view.ts';
import type { StructureData } from './research-types.ts';

export interface TransitionsOptions extends BaseOptions {
  /** The earlier layers of the pairs to draw (null: every pair). */
  layers: number[] | null;
}

type State = ViewState<StructureData, TransitionsOptions>;
const GAP = 14;

function pairsOf(d: StructureData, o: TransitionsOptions): number[] {
  const all = d.layers.map((_, l) => l).filter((l) => d.layers[l].transition);
  return o.layers ? all.filter((l) => o.layers!.includes(l)) : all;
}

/** Panels per row and their width: at most as many as fit with cells of at least 2 px. */
export function transitionPanels(width: number, E: number, pairs: number): { cols: number; panel: number } {
  const min = MATRIX_MARGIN.left + 2 * E + 8;
  const cols = Math.max(1, Math.min(pairs, Math.floor((width + GAP) / (Math.max(min, 150) + GAP))));
  return { cols, panel: Math.floor((width - GAP * (cols - 1)) / cols) };
}

function draw(s: State): void {
  const { data, options } = s;
  const pairs = pairsOf(data, options);
  const E = data.experts;
  const { cols, panel } = transitionPanels(options.width, E, pairs.length);
  const cell = matrixCell(panel, E);
  const ph = MATRIX_MARGIN.top + E * cell + 6;
  const rows = Math.ceil(pairs.length / cols);
  const color = probabilityScale(1);
  const svg = select(s.body).selectAll<SVGSVGElement, null>('svg').data([null]).join('svg')
    .attr('width', options.width).attr('height', rows * ph + (rows - 1) * GAP).attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);
  svg.selectAll<SVGGElement, number>('g.mx-transition').data(pairs, String).join('g').attr('class', 'mx-transition')
    .attr('data-layer', (l) => l)
    .attr('transform', (_l, i) => `translate(${(i % cols) * (panel + GAP)},${Math.floor(i / cols) * (ph + GAP)})`)
    .each(function (l) {
      const m = data.layers[l].transition!;
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      drawMatrix(select(this) as never, {
        n: E, cell, color: (e, f) => color(m[e][f]), rowLayer: l, colLayer: l + 1,
        rowName: `L${l}`, colName: `L${l + 1}`, title: `L${l} → L${l + 1}`,
        tooltip: (e, f) => [`first choice E${e} at layer ${l}`, `→ E${f} at layer ${l + 1}: ${pct(m[e][f])}`, ...(m[e].every((x) => x === 0) ? ['(never a first choice here)'] : [])],
      }, { show: (lines, ev) => s.tooltip.show(lines, ev), hide: () => s.tooltip.hide(), pick: (e) => pickExpert(s.body, s.options.onExpert, l, e) });
    });
}

export function createTransitions(data: StructureData, options: Partial<TransitionsOptions> = {}): View<StructureData, TransitionsOptions> {
  const o: TransitionsOptions = { ...BASE_DEFAULTS, title: 'First-choice transitions between layers', layers: null, maxHeight: 720, ...options };
  return mountView<StructureData, TransitionsOptions>({
    name: 'transitions',
    hint: 'No analysis yet: run mixscope.analyze(text) for transitions between layers.',
    isEmpty: (d) => !d || d.layers.length < 2 || !d.layers[0].transition,
    legend: (d) => ({ experts: d.experts <= 16 ? d.experts : 0, note: 'row: first choice at the earlier layer · cell: P(first choice at the next layer) (white 0 → blue 1)' }),
    draw,
    highlight: () => {},
    rows: (d, opt) => pairsOf(d, opt).flatMap((l) => d.layers[l].transition!.flatMap((row, e) => row.map((p, f) => ({ layer: l, from: e, to: f, p })))),
    svg: (s) => s.body.querySelector('svg'),
  }, data, o);
}

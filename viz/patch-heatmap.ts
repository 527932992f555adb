// Patching heatmap: layers (rows) x positions (columns), each cell the effect of patching the
// clean run's activation (or routing) at that place into the corrupted run: 1 (red) restores the
// clean answer, 0 (white) changes nothing, negative (blue) pushes further toward the wrong one.
// Positions where the two texts differ are marked, with the corrupted token under the clean one.
import { interpolateRdBu, scaleDiverging, select } from 'd3';
import { textColorOn } from './palette.ts';
import { pieceToken, tokenLabel } from './token-text.ts';
import { mountView, BASE_DEFAULTS, type BaseOptions, type View, type ViewState } from './view.ts';
import type { PatchData } from './research-types.ts';
import type { TokenInfo } from './types.ts';

export interface PatchHeatmapOptions extends BaseOptions {
  /** Height of one layer's row in pixels. */
  rowHeight: number;
}

type State = ViewState<PatchData, PatchHeatmapOptions>;
const M = { top: 44, right: 8, bottom: 4, left: 40 };

const asToken = (x: TokenInfo | string): Pick<TokenInfo, 'text' | 'piece'> => (typeof x === 'string' ? pieceToken(x) : x);

/** Column width: the positions share the width, 22 to 64 pixels each. */
export function patchCell(width: number, T: number): number {
  return Math.max(22, Math.min(64, Math.floor((width - M.left - M.right) / Math.max(1, T))));
}

interface Cell { l: number; t: number; v: number }

function draw(s: State): void {
  const { data, options } = s;
  const L = data.effect.length, T = data.tokens.length, rh = options.rowHeight;
  const cw = patchCell(options.width, T);
  const color = scaleDiverging(interpolateRdBu).domain([1, 0, -1]).clamp(true);
  const svg = select(s.body).selectAll<SVGSVGElement, null>('svg').data([null]).join('svg')
    .attr('width', M.left + T * cw + M.right).attr('height', M.top + L * rh + M.bottom).attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);
  const differs = (t: number) => data.corruptTokens && asToken(data.corruptTokens[t]).piece !== asToken(data.tokens[t]).piece;
  const head = svg.selectAll<SVGGElement, number>('g.mx-patch-token').data(Array.from({ length: T }, (_, t) => t), String)
    .join((enter) => { const g = enter.append('g').attr('class', 'mx-patch-token'); g.append('text').attr('class', 'mx-clean'); g.append('text').attr('class', 'mx-corrupt'); return g; })
    .attr('transform', (t) => `translate(${M.left + t * cw + cw / 2},0)`);
  const chars = Math.max(3, Math.floor(cw / 6));
  head.select('text.mx-clean').attr('y', 14).attr('text-anchor', 'middle').attr('font-weight', (t) => (differs(t) ? 700 : 400))
    .attr('fill', (t) => (differs(t) ? '#b2182b' : '#1b1e23')).text((t) => tokenLabel(asToken(data.tokens[t]), chars));
  head.select('text.mx-corrupt').attr('y', 28).attr('text-anchor', 'middle').attr('fill', '#2166ac')
    .text((t) => (differs(t) ? tokenLabel(asToken(data.corruptTokens![t]), chars) : ''));
  svg.selectAll('text.mx-patch-rows').data([null]).join('text').attr('class', 'mx-patch-rows').attr('x', 2).attr('y', 14).attr('fill', '#555').text('clean');
  svg.selectAll('text.mx-patch-rows2').data(data.corruptTokens ? [null] : []).join('text').attr('class', 'mx-patch-rows2').attr('x', 2).attr('y', 28).attr('fill', '#2166ac').text('corrupt');
  svg.selectAll<SVGTextElement, number>('text.mx-patch-layer').data(Array.from({ length: L }, (_, l) => l), String).join('text').attr('class', 'mx-patch-layer')
    .attr('x', M.left - 5).attr('y', (l) => M.top + l * rh + rh / 2).attr('dy', '0.35em').attr('text-anchor', 'end').attr('fill', '#1b1e23').text((l) => `L${l}`);
  const cells: Cell[] = data.effect.flatMap((row, l) => row.map((v, t) => ({ l, t, v })));
  svg.selectAll<SVGGElement, Cell>('g.mx-patch-cell').data(cells, (c) => `${c.l}:${c.t}`)
    .join((enter) => {
      const g = enter.append('g').attr('class', 'mx-patch-cell');
      g.append('rect'); g.append('text');
      g.on('mouseenter mousemove', (event: MouseEvent, c) => {
        s.hover(typeof s.data.tokens[c.t] === 'string' ? c.t : (s.data.tokens[c.t] as TokenInfo).position);
        s.tooltip.show(cellTooltip(s.data, c), event);
      });
      return g;
    })
    .attr('transform', (c) => `translate(${M.left + c.t * cw},${M.top + c.l * rh})`).attr('data-layer', (c) => c.l).attr('data-position', (c) => c.t)
    .attr('data-effect', (c) => c.v.toFixed(4))
    .call((g) => g.select('rect').attr('width', cw - 1).attr('height', rh - 1).attr('fill', (c) => color(c.v)))
    .call((g) => g.select('text').attr('x', cw / 2).attr('y', rh / 2).attr('dy', '0.35em').attr('text-anchor', 'middle').attr('font-size', 9)
      .attr('fill', (c) => textColorOn(color(c.v))).text((c) => (cw >= 30 && Math.abs(c.v) >= 0.05 ? c.v.toFixed(2) : '')));
}

function cellTooltip(d: PatchData, c: Cell): string[] {
  const tok = asToken(d.tokens[c.t]);
  const diff = d.corrupt_diff + c.v * (d.clean_diff - d.corrupt_diff);
  return [
    `patch ${d.what ?? ''} at layer ${c.l}, position ${c.t} (${JSON.stringify(tok.text)})`,
    `effect ${c.v.toFixed(3)}: logit difference ${diff.toFixed(2)}`,
    `(corrupt ${d.corrupt_diff.toFixed(2)} → clean ${d.clean_diff.toFixed(2)})`,
  ];
}

function highlight(s: State, position: number | null): void {
  const t = position === null ? -1 : s.data.tokens.findIndex((x, i) => (typeof x === 'string' ? i : x.position) === position);
  select(s.body).selectAll<SVGRectElement, Cell>('g.mx-patch-cell rect').attr('stroke', (c) => (c.t === t ? '#111' : null)).attr('stroke-width', (c) => (c.t === t ? 1.5 : null));
}

export function createPatchHeatmap(data: PatchData, options: Partial<PatchHeatmapOptions> = {}): View<PatchData, PatchHeatmapOptions> {
  const o: PatchHeatmapOptions = { ...BASE_DEFAULTS, title: 'Patching effect', rowHeight: 22, ...options };
  return mountView<PatchData, PatchHeatmapOptions>({
    name: 'patch-heatmap',
    hint: 'No patching result yet: run mixscope.patch({clean, corrupt, answer, wrong}).',
    isEmpty: (d) => !d || d.effect.length === 0 || d.tokens.length === 0,
    legend: (d) => ({
      experts: 0,
      note: `${d.what ?? 'patch'}: 1 (red) restores the clean answer, 0 (white) nothing, < 0 (blue) away from it · ${d.answer && d.wrong ? `logit[${tokenLabel(pieceToken(d.answer.piece), 16)}] − logit[${tokenLabel(pieceToken(d.wrong.piece), 16)}]` : 'logit difference'}: clean ${d.clean_diff.toFixed(2)}, corrupt ${d.corrupt_diff.toFixed(2)}`,
    }),
    draw, highlight,
    rows: (d) => d.effect.flatMap((row, layer) => row.map((effect, position) => ({ layer, position, token: asToken(d.tokens[position]).text, effect, what: d.what ?? '' }))),
    svg: (s) => s.body.querySelector('svg'),
  }, data, o);
}

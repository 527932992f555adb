// Domain shares over training: for one layer, one small heatmap per checkpoint, domains as rows
// and experts as columns, each cell the share of the domain's tokens that have the expert among
// their top k (OLMoE's domain specialisation). Colour is relative to k / E, the share of a router
// blind to the domain: blue below, white at, orange to red above.
import { scaleDiverging, interpolateRdBu, select } from 'd3';
import { mountView, BASE_DEFAULTS, type BaseOptions, type View, type ViewState } from './view.ts';

export interface DomainShareData {
  /** Row labels, in the order of the shares' domain axis. */
  domains: string[];
  /** Per checkpoint: its step, its tokens trained, and [domain][expert] shares (each row sums to k). */
  checkpoints: { step: number; tokens: number; shares: number[][] }[];
  experts: number;
  /** Experts counted per token (1: first choices only). */
  k: number;
}

export interface DomainShareOptions extends BaseOptions {
  cell: number;
}

type State = ViewState<DomainShareData, DomainShareOptions>;
const LABEL_W = 78, TITLE_H = 16, GAP = 10, AXIS_H = 12;

/** Panels per row for a width: as many as fit, at least one. */
export function gridColumns(width: number, experts: number, cell: number, panels: number): number {
  const pw = experts * cell + GAP;
  return Math.max(1, Math.min(panels, Math.floor((width - LABEL_W + GAP) / pw)));
}

const tokensLabel = (n: number) => (n >= 1e6 ? `${(n / 1e6).toPrecision(3)} M` : `${(n / 1e3).toPrecision(3)} k`);

function draw(s: State): void {
  const { data, options: o } = s;
  const E = data.experts, D = data.domains.length;
  const uniform = data.k / E;
  // Full red at 3x uniform, full blue at 0.
  const color = scaleDiverging<string>((t) => interpolateRdBu(1 - t)).domain([0, uniform, Math.min(data.k, 3 * uniform)]).clamp(true);
  const cell = Math.max(6, Math.min(o.cell, Math.floor((o.width - LABEL_W - GAP) / E)));
  const cols = gridColumns(o.width, E, cell, data.checkpoints.length);
  // A panel's title on one line where it fits over the panel (about 5.6 px a character at 10 px),
  // else the tokens on a second line: on a phone the panels are narrower than "step 3,200 · 13.1 M".
  const titles = data.checkpoints.map((c) => [`step ${c.step.toLocaleString('en')}`, tokensLabel(c.tokens)] as const);
  const pw = E * cell;
  const twoLines = titles.some(([a, b]) => (a.length + b.length + 3) * 5.6 > pw + GAP - 2);
  const titleH = twoLines ? TITLE_H + 11 : TITLE_H;
  const ph = titleH + D * cell + AXIS_H;
  const rowsN = Math.ceil(data.checkpoints.length / cols);
  const svg = select(s.body).selectAll<SVGSVGElement, null>('svg').data([null]).join('svg')
    .attr('width', Math.min(o.width, LABEL_W + cols * (pw + GAP))).attr('height', rowsN * (ph + GAP) + 26)
    .attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);
  svg.selectAll('*').remove();
  data.checkpoints.forEach((c, i) => {
    const gx = LABEL_W + (i % cols) * (pw + GAP), gy = Math.floor(i / cols) * (ph + GAP);
    const g = svg.append('g').attr('class', 'mx-share-panel').attr('data-step', c.step).attr('transform', `translate(${gx},${gy})`);
    const [stepLabel, tokens] = titles[i]!;
    const title = g.append('text').attr('y', 11).attr('font-weight', 600).attr('fill', '#1b1e23');
    if (twoLines) {
      title.append('tspan').attr('x', 0).text(stepLabel);
      title.append('tspan').attr('x', 0).attr('dy', 11).attr('font-weight', 400).text(tokens);
    } else title.text(`${stepLabel} · ${tokens}`);
    if (i % cols === 0) {
      data.domains.forEach((d, r) => svg.append('text').attr('x', LABEL_W - 6).attr('y', gy + titleH + r * cell + cell / 2 + 3.5)
        .attr('text-anchor', 'end').attr('fill', '#333').text(d));
    }
    c.shares.forEach((row, r) => row.forEach((v, e) => {
      g.append('rect').attr('class', 'mx-share-cell').attr('x', e * cell).attr('y', titleH + r * cell).attr('width', cell - 1).attr('height', cell - 1)
        .attr('fill', color(v)).attr('data-domain', data.domains[r]).attr('data-expert', e).attr('data-share', v)
        .on('mouseenter mousemove', (event: MouseEvent) => s.tooltip.show([
          `${data.domains[r]} · E${e} · step ${c.step.toLocaleString('en')}`,
          `${(100 * v).toFixed(1)}% of its tokens have E${e} in their top ${data.k} (uniform ${(100 * uniform).toFixed(1)}%)`], event))
        .on('mouseleave', () => s.tooltip.hide());
    }));
    for (let e = 0; e < E; e += cell >= 12 ? 1 : 2) {
      g.append('text').attr('x', e * cell + (cell - 1) / 2).attr('y', titleH + D * cell + 10).attr('text-anchor', 'middle').attr('fill', '#555').attr('font-size', 8).text(`E${e}`);
    }
  });
  // The colour key: 0, uniform, 3x uniform.
  const ky = rowsN * (ph + GAP) + 4, kw = Math.min(180, o.width - LABEL_W - 10);
  const key = svg.append('g').attr('transform', `translate(${LABEL_W},${ky})`);
  for (let j = 0; j < 30; j++) {
    key.append('rect').attr('x', (j * kw) / 30).attr('width', kw / 30 + 0.5).attr('height', 8).attr('fill', color((j / 29) * 3 * uniform));
  }
  [[0, '0'], [kw / 3, `${(100 * uniform).toFixed(1)}% (k/E)`], [kw, `≥ ${(300 * uniform).toFixed(0)}%`]].forEach(([x, t]) =>
    key.append('text').attr('x', x as number).attr('y', 19).attr('text-anchor', x === 0 ? 'start' : x === kw ? 'end' : 'middle').attr('fill', '#555').text(t as string));
}

export function createDomainShareGrid(data: DomainShareData, options: Partial<DomainShareOptions> = {}): View<DomainShareData, DomainShareOptions> {
  const o: DomainShareOptions = { ...BASE_DEFAULTS, title: 'Domain shares over training', cell: 14, maxHeight: 2000, ...options };
  return mountView<DomainShareData, DomainShareOptions>({
    name: 'domain-share-grid',
    hint: 'No checkpoints yet.',
    isEmpty: (d) => d.checkpoints.length === 0 || d.domains.length === 0,
    legend: () => null,
    draw,
    highlight: () => {},
    rows: (d) => d.checkpoints.flatMap((c) => c.shares.flatMap((row, r) => row.map((v, e) => ({ step: c.step, tokens: c.tokens, domain: d.domains[r], expert: e, share: v })))),
    svg: (s) => s.body.querySelector('svg'),
  }, data, o);
}

// Training curves: one line per series (a layer, a domain) over the checkpoints of a training run,
// on a log axis of tokens trained (the milestones are 1, 2, 5, ... 100% of the run), with an
// optional dashed baseline (random routing) and, per series, an optional dashed reference level
// in its colour (the previous model's loss).
import { axisBottom, axisLeft, format, line, max, min, scaleLinear, scaleLog, select } from 'd3';
import { mountView, BASE_DEFAULTS, type BaseOptions, type View, type ViewState } from './view.ts';

export interface TrainingSeries {
  key: string;
  label: string;
  /** One value per checkpoint (same order as `tokens`). */
  values: number[];
  /** A level to draw dashed in the series' colour across the chart (e.g. the previous model's loss). */
  reference?: number;
}

export interface TrainingCurvesData {
  /** Per checkpoint, ascending. */
  steps: number[];
  tokens: number[];
  series: TrainingSeries[];
  /** A dashed black level for every series (e.g. what random routing gives). */
  baseline?: { value: number; label: string };
}

export interface TrainingCurvesOptions extends BaseOptions {
  yLabel: string;
  /** d3 format of the values: '.0%' for shares, '.2f' for losses. */
  yFormat: string;
  /** Fixed y range (null: from the data, the references and the baseline). */
  yDomain: [number, number] | null;
  /** Series colours, by index. */
  colors: readonly string[];
  height: number;
}

type State = ViewState<TrainingCurvesData, TrainingCurvesOptions>;
const M = { top: 10, right: 118, bottom: 34, left: 46 };
const NARROW = 480;

const tokensLabel = (n: number) => (n >= 1e6 ? `${format('.3~r')(n / 1e6)} M` : `${format('.3~r')(n / 1e3)} k`);

function draw(s: State): void {
  const { data, options: o } = s;
  // On a phone the labels at the right end would take half the width: they go below instead.
  const narrow = o.width < NARROW;
  const right = narrow ? 12 : M.right;
  const bottom = narrow ? M.bottom + 12 : M.bottom; // room for the slanted tick labels
  const x = scaleLog().domain([min(data.tokens)!, max(data.tokens)!]).range([M.left, o.width - right]);
  if (data.tokens.length === 1) x.domain([data.tokens[0] / 2, data.tokens[0] * 2]);
  const levels = [...data.series.flatMap((d) => [...d.values, ...(d.reference === undefined ? [] : [d.reference])]), ...(data.baseline ? [data.baseline.value] : [])];
  const y = scaleLinear().domain(o.yDomain ?? [Math.min(0, min(levels)!), max(levels)!]).nice(5).range([o.height - bottom, M.top]);
  const color = (i: number) => o.colors[i % o.colors.length];
  const svg = select(s.body).selectAll<SVGSVGElement, null>('svg').data([null]).join('svg')
    .attr('width', o.width).attr('height', o.height + (narrow ? 16 * Math.ceil(data.series.length / 3) + 6 : 0))
    .attr('font-family', 'system-ui, sans-serif').attr('font-size', 10);
  svg.selectAll('*').remove();
  svg.append('g').attr('transform', `translate(0,${o.height - bottom})`)
    .call(axisBottom(x).tickValues(data.tokens).tickFormat((t) => tokensLabel(+t)))
    .call((a) => a.selectAll('.tick text').attr('fill', '#555').attr('transform', narrow ? 'rotate(-30)' : null).attr('text-anchor', narrow ? 'end' : 'middle'));
  svg.append('text').attr('x', (M.left + o.width - right) / 2).attr('y', o.height - 2).attr('text-anchor', 'middle').attr('fill', '#333')
    .text('tokens trained (log scale)');
  svg.append('g').attr('transform', `translate(${M.left},0)`)
    .call(axisLeft(y).ticks(5, o.yFormat).tickSize(-(o.width - M.left - right)))
    .call((a) => a.select('.domain').remove())
    .call((a) => a.selectAll('.tick line').attr('stroke', '#e5e7eb'))
    .call((a) => a.selectAll('.tick text').attr('fill', '#555'));
  svg.append('text').attr('transform', `translate(11,${(M.top + o.height - bottom) / 2}) rotate(-90)`).attr('text-anchor', 'middle').attr('fill', '#333').text(o.yLabel);
  if (data.baseline) {
    svg.append('line').attr('class', 'mx-baseline').attr('x1', M.left).attr('x2', o.width - right).attr('y1', y(data.baseline.value)).attr('y2', y(data.baseline.value))
      .attr('stroke', '#1b1e23').attr('stroke-dasharray', '5 4');
    // Below the line at the right end, where the first checkpoints' points are not.
    svg.append('text').attr('x', o.width - right - 4).attr('y', y(data.baseline.value) + 12).attr('text-anchor', 'end').attr('fill', '#1b1e23').text(data.baseline.label);
  }
  const fmt = format(o.yFormat);
  data.series.forEach((d, i) => {
    const g = svg.append('g').attr('class', 'mx-series').attr('data-key', d.key);
    if (d.reference !== undefined) {
      g.append('line').attr('class', 'mx-reference').attr('x1', M.left).attr('x2', o.width - right).attr('y1', y(d.reference)).attr('y2', y(d.reference))
        .attr('stroke', color(i)).attr('stroke-width', 1.2).attr('stroke-dasharray', '2 3').attr('data-value', d.reference);
    }
    g.append('path').attr('d', line<number>((_, t) => x(data.tokens[t]), (v) => y(v))(d.values)).attr('fill', 'none').attr('stroke', color(i)).attr('stroke-width', 2);
    g.selectAll('circle').data(d.values).join('circle').attr('class', 'mx-point').attr('r', 3.5)
      .attr('cx', (_, t) => x(data.tokens[t])).attr('cy', (v) => y(v)).attr('fill', color(i))
      .attr('data-step', (_, t) => data.steps[t]).attr('data-value', (v) => v)
      .on('mouseenter mousemove', (event: MouseEvent, v) => {
        const t = d.values.indexOf(v);
        s.tooltip.show([`${d.label} · step ${data.steps[t].toLocaleString('en')} (${tokensLabel(data.tokens[t])} tokens)`,
          `${o.yLabel}: ${fmt(v)}`, ...(d.reference === undefined ? [] : [`reference: ${fmt(d.reference)}`])], event);
      })
      .on('mouseleave', () => s.tooltip.hide());
    const last = d.values[d.values.length - 1];
    if (narrow) {
      const lx = M.left + (i % 3) * Math.floor((o.width - M.left) / 3), ly = o.height + 12 + 16 * Math.floor(i / 3);
      g.append('rect').attr('x', lx).attr('y', ly - 8).attr('width', 10).attr('height', 10).attr('rx', 2).attr('fill', color(i));
      g.append('text').attr('x', lx + 14).attr('y', ly + 1).attr('fill', '#333').text(d.label);
    } else {
      g.append('text').attr('class', 'mx-series-label').attr('x', o.width - right + 6).attr('y', y(last) + 3).attr('fill', color(i)).attr('font-weight', 600).text(`${d.label} ${fmt(last)}`);
    }
  });
  // End labels of close values would overlap: push them apart, top to bottom.
  const labels = svg.selectAll<SVGTextElement, unknown>('text.mx-series-label').nodes().sort((a, b) => +a.getAttribute('y')! - +b.getAttribute('y')!);
  let floor = -Infinity;
  for (const t of labels) {
    const yy = Math.max(+t.getAttribute('y')!, floor + 12);
    t.setAttribute('y', String(yy));
    floor = yy;
  }
}

export function createTrainingCurves(data: TrainingCurvesData, options: Partial<TrainingCurvesOptions> = {}): View<TrainingCurvesData, TrainingCurvesOptions> {
  const o: TrainingCurvesOptions = { ...BASE_DEFAULTS, title: 'Training curves', yLabel: 'value', yFormat: '.2f', yDomain: null,
    colors: ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'], height: 260, ...options };
  return mountView<TrainingCurvesData, TrainingCurvesOptions>({
    name: 'training-curves',
    hint: 'No checkpoints yet.',
    isEmpty: (d) => d.tokens.length === 0 || d.series.length === 0,
    legend: () => null,
    draw,
    highlight: () => {},
    rows: (d) => d.series.flatMap((s) => s.values.map((v, t) => ({ series: s.key, step: d.steps[t], tokens: d.tokens[t], value: v, ...(s.reference === undefined ? {} : { reference: s.reference }) }))),
    svg: (s) => s.body.querySelector('svg'),
  }, data, o);
}

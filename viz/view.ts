// The shell every view shares: header (title, export toolbar), legend, scrolling body, empty-state
// hint, tooltip, options merging and the hover-link subscription. A view supplies only drawing.
import { createToolbar } from './toolbar.ts';
import { createTooltip, type Tooltip } from './tooltip.ts';
import { renderExpertLegend } from './legend.ts';
import type { ExpertPaint } from './many-experts.ts';
import { ensureStyles } from './style.ts';
import { paced } from './pacing.ts';
import { figureSvg } from './figure.ts';
import type { HoverLink } from './hover.ts';
import type { Row } from './export.ts';
import type { ViewNode } from './types.ts';
import { listenForExpertPicks, type ExpertPickHandler } from './expert-pick.ts';

export interface BaseOptions {
  /** Width in CSS pixels the view lays itself out to. */
  width: number;
  /** Shared hover: the view highlights the hovered token and sets it on mouseover. */
  link: HoverLink | null;
  title: string;
  /** Height after which the body scrolls instead of growing the page. */
  maxHeight: number;
  /**
   * Called when the reader clicks anything that shows an expert (an element with `data-expert`:
   * a chip, a heatmap cell, a load bar, a node): open its dashboard (viz/expert-pick.ts).
   */
  onExpert: ExpertPickHandler | null;
  /**
   * Where the data came from (the model and engine), for the caption of an exported figure. By
   * default the page's: `data-mixscope-source` on the document's root element (the site sets it).
   */
  source: string | null;
}

export const BASE_DEFAULTS: BaseOptions = { width: 640, link: null, title: '', maxHeight: 420, onExpert: null, source: null };

/** What a view's drawing functions see. */
export interface ViewState<D, O> {
  data: D;
  options: O;
  body: HTMLDivElement;
  tooltip: Tooltip;
  /** Report the token under the pointer (absolute position) to the link, if any. */
  hover(position: number | null): void;
  /** Ask for a draw of the current data (after a scroll that shows other rows, say), paced like an update. */
  redraw(): void;
}

export interface ViewSpec<D, O> {
  /** Class suffix and export file name, e.g. "token-strip". */
  name: string;
  /** One line shown while there is nothing to draw; a function when the reason depends on the data (a dense layer). */
  hint: string | ((data: D, options: O) => string);
  isEmpty(data: D, options: O): boolean;
  /** Experts to put in the legend, what the marks mean, and whether tokens the model wrote are shown (italic) (null: no legend). */
  legend(data: D, options: O): LegendSpec | null;
  /**
   * Draws the state, or part of it: a draw that has more to do than a slice of work (many rows
   * at once) returns true and is called again, at once on a plain page, in a later task on a
   * paced one (viz/pacing.ts).
   */
  draw(state: ViewState<D, O>): boolean | void;
  highlight(state: ViewState<D, O>, position: number | null): void;
  rows(data: D, options: O): Row[];
  svg(state: ViewState<D, O>): SVGSVGElement | null;
}

/** `paint`: many experts' colouring (many-experts.ts), when the view uses it. */
export interface LegendSpec { experts: number; note?: string; generated?: boolean; paint?: ExpertPaint }

export type View<D, O> = ViewNode<D, O> & { destroy(): void };

export function mountView<D, O extends BaseOptions>(spec: ViewSpec<D, O>, data: D, options: O): View<D, O> {
  ensureStyles();
  const root = document.createElement('div') as unknown as View<D, O>;
  root.className = `mx-view mx-${spec.name}`;
  const header = root.appendChild(document.createElement('div'));
  header.className = 'mx-header';
  const title = header.appendChild(document.createElement('span'));
  title.className = 'mx-title';
  const legend = root.appendChild(document.createElement('div'));
  legend.className = 'mx-legend';
  const hint = root.appendChild(document.createElement('div'));
  hint.className = 'mx-hint';
  const hintText = (d: D, o: O) => (typeof spec.hint === 'string' ? spec.hint : spec.hint(d, o));
  const body = root.appendChild(document.createElement('div'));
  body.className = 'mx-body';

  const state: ViewState<D, O> = {
    data, options, body,
    tooltip: createTooltip(root),
    hover: (position) => state.options.link?.set(position),
    redraw: () => again(),
  };
  // Exports are figures that read on their own: title, legend, the chart, and where it came from.
  const exported = () => {
    const chart = spec.svg(state);
    if (!chart) return null;
    const { data: d, options: o } = state;
    const l = spec.isEmpty(d, o) ? null : spec.legend(d, o);
    const source = o.source ?? root.ownerDocument.documentElement.dataset.mixscopeSource ?? undefined;
    return figureSvg(chart, { title: o.title || spec.name.replace(/-/g, ' '), experts: l?.experts ?? 0, note: l?.note, generated: l?.generated, source });
  };
  header.appendChild(createToolbar({ name: spec.name, svg: exported, rows: () => spec.rows(state.data, state.options) }));
  body.addEventListener('mouseleave', () => { state.tooltip.hide(); state.hover(null); });
  listenForExpertPicks(root, () => state.options);

  let unsubscribe: (() => void) | null = null;
  let subscribed: HoverLink | null = null;
  const follow = () => {
    if (subscribed === state.options.link) return;
    unsubscribe?.();
    subscribed = state.options.link;
    unsubscribe = subscribed ? subscribed.subscribe((p) => spec.highlight(state, p)) : null;
  };

  // What the shell last wrote: while tokens stream in, a frame rewrites only what changed (an
  // unchanged write still invalidates style and layout).
  let shell = '';
  let legendKey = '';
  const render = () => {
    const { data: d, options: o } = state;
    const empty = spec.isEmpty(d, o);
    const said = empty ? hintText(d, o) : '';
    const key = `${o.width}|${o.maxHeight}|${o.title}|${empty}|${said}`;
    if (key !== shell) {
      shell = key;
      if (empty) hint.textContent = said;
      root.style.width = `${o.width}px`;
      body.style.setProperty('--mx-max-height', `${o.maxHeight}px`);
      title.textContent = o.title;
      hint.classList.toggle('mx-hidden', !empty);
      body.classList.toggle('mx-hidden', empty);
    }
    const l = empty ? null : spec.legend(d, o);
    const lk = l ? `${l.experts}|${l.note ?? ''}|${l.generated ?? false}|${l.paint?.many ? l.paint.focus.join(',') : ''}` : '';
    if (lk !== legendKey) {
      legendKey = lk;
      legend.classList.toggle('mx-hidden', !l);
      if (l) renderExpertLegend(legend, l.experts, l.note, l.generated, l.paint);
    }
    follow();
    if (!empty) {
      const more = spec.draw(state) === true;
      spec.highlight(state, state.options.link?.get() ?? null);
      if (more) again();
    }
  };

  // A view scrolled out of sight keeps its newest data but draws it only when the page is idle
  // (at most a second later) or when it comes into sight: during generation the frames go to
  // the views the reader is looking at.
  let inSight = true;
  let stale = false;
  let idle: number | null = null;
  const flush = () => {
    if (idle !== null) cancelIdle(idle);
    idle = null;
    if (stale) { stale = false; render(); }
  };
  const sight = typeof IntersectionObserver === 'undefined' ? null : new IntersectionObserver((entries) => {
    inSight = entries[entries.length - 1].isIntersecting;
    if (inSight) flush();
  }, { rootMargin: '200px' });
  sight?.observe(root);

  // On a paced document (viz/pacing.ts) a draw may wait for a later task; it draws the newest data.
  const drawNow = () => { stale = false; render(); };
  function again(): void { stale = true; paced(root.ownerDocument, root, () => { if (stale) drawNow(); }); }
  root.update = (next, opts) => {
    state.data = next;
    if (opts) state.options = { ...state.options, ...opts };
    if (inSight || !root.isConnected) { again(); return; }
    stale = true;
    idle ??= onIdle(flush, 1000);
  };
  root.rows = () => spec.rows(state.data, state.options);
  root.destroy = () => {
    state.tooltip.element.remove();
    unsubscribe?.(); unsubscribe = null; subscribed = null;
    sight?.disconnect();
    if (idle !== null) cancelIdle(idle);
    idle = null;
  };
  render();
  return root;
}

const onIdle = (fn: () => void, timeout: number): number =>
  typeof requestIdleCallback === 'function' ? requestIdleCallback(fn, { timeout }) : window.setTimeout(fn, Math.min(timeout, 200));
const cancelIdle = (id: number): void => {
  if (typeof cancelIdleCallback === 'function') cancelIdleCallback(id); else clearTimeout(id);
};

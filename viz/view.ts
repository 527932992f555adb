// The shell every view shares: header (title, export toolbar), legend, scrolling body, empty-state
// hint, tooltip, options merging and the hover-link subscription. A view supplies only drawing.
import { createToolbar } from './toolbar.ts';
import { createTooltip, type Tooltip } from './tooltip.ts';
import { renderExpertLegend } from './legend.ts';
import { ensureStyles } from './style.ts';
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
}

export const BASE_DEFAULTS: BaseOptions = { width: 640, link: null, title: '', maxHeight: 420, onExpert: null };

/** What a view's drawing functions see. */
export interface ViewState<D, O> {
  data: D;
  options: O;
  body: HTMLDivElement;
  tooltip: Tooltip;
  /** Report the token under the pointer (absolute position) to the link, if any. */
  hover(position: number | null): void;
}

export interface ViewSpec<D, O> {
  /** Class suffix and export file name, e.g. "token-strip". */
  name: string;
  /** One line shown while there is nothing to draw. */
  hint: string;
  isEmpty(data: D, options: O): boolean;
  /** Experts to put in the legend (null: no legend). */
  legend(data: D, options: O): { experts: number; note?: string } | null;
  draw(state: ViewState<D, O>): void;
  highlight(state: ViewState<D, O>, position: number | null): void;
  rows(data: D, options: O): Row[];
  svg(state: ViewState<D, O>): SVGSVGElement | null;
}

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
  hint.textContent = spec.hint;
  const body = root.appendChild(document.createElement('div'));
  body.className = 'mx-body';

  const state: ViewState<D, O> = {
    data, options, body,
    tooltip: createTooltip(root),
    hover: (position) => state.options.link?.set(position),
  };
  header.appendChild(createToolbar({ name: spec.name, svg: () => spec.svg(state), rows: () => spec.rows(state.data, state.options) }));
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
    const key = `${o.width}|${o.maxHeight}|${o.title}|${empty}`;
    if (key !== shell) {
      shell = key;
      root.style.width = `${o.width}px`;
      body.style.setProperty('--mx-max-height', `${o.maxHeight}px`);
      title.textContent = o.title;
      hint.classList.toggle('mx-hidden', !empty);
      body.classList.toggle('mx-hidden', empty);
    }
    const l = empty ? null : spec.legend(d, o);
    const lk = l ? `${l.experts}|${l.note ?? ''}` : '';
    if (lk !== legendKey) {
      legendKey = lk;
      legend.classList.toggle('mx-hidden', !l);
      if (l) renderExpertLegend(legend, l.experts, l.note);
    }
    follow();
    if (!empty) {
      spec.draw(state);
      spec.highlight(state, state.options.link?.get() ?? null);
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

  root.update = (next, opts) => {
    state.data = next;
    if (opts) state.options = { ...state.options, ...opts };
    if (inSight || !root.isConnected) { stale = false; render(); return; }
    stale = true;
    idle ??= onIdle(flush, 1000);
  };
  root.rows = () => spec.rows(state.data, state.options);
  root.destroy = () => {
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

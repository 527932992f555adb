// The site header: the model in use, the backend (WebGPU adapter, or CPU and why), a real
// progress bar while weights load, Stop (a generation, or a load), and the way to open your own
// model. An error is one line; its whole text is one click away (never megabytes: messages quote
// at most a short excerpt of what they found, and are cut here too).
import type { LoadState } from './api/client.ts';

/** The most characters of an error the page shows, on demand. */
export const MAX_ERROR_CHARS = 2000;
/** The most characters of the one line that is always shown. */
const LINE_CHARS = 160;

/**
 * An error as one line (its start, cut at LINE_CHARS) that opens to the whole message: a
 * <details> whose summary is the line. Empty text empties and hides it.
 */
export function createErrorLine(cls: string): { node: HTMLDetailsElement; set(text: string): void } {
  const node = document.createElement('details');
  node.className = `error-line ${cls}`;
  node.setAttribute('role', 'alert');
  const summary = document.createElement('summary');
  const full = document.createElement('div');
  full.className = 'error-line-full';
  node.append(summary, full);
  let shown: string | null = null;
  return {
    node,
    set(text: string) {
      // The header passes its state on every change (a generation starting or ending, a load's
      // progress): the same message is left alone, not closed on a reader who opened it.
      if (text === shown) return;
      shown = text;
      const whole = text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}... (${text.length} characters)` : text;
      const line = whole.replace(/\s+/g, ' ');
      summary.textContent = line.length > LINE_CHARS ? `${line.slice(0, LINE_CHARS - 1)}…` : line;
      summary.title = line.length > LINE_CHARS ? 'Show the whole message' : '';
      full.textContent = whole;
      node.open = false;
      node.hidden = !text;
    },
  };
}

export interface HeaderActions { onStop(): void; onOpenModel(): void }

export function createHeader(actions: HeaderActions): { node: HTMLElement; update(s: LoadState): void } {
  const node = document.createElement('header');
  node.className = 'site-header';
  const home = document.createElement('a');
  home.href = '#/';
  home.className = 'site-brand';
  home.textContent = 'Mixscope';
  const model = span('site-model');
  const backend = span('site-backend');
  const progress = document.createElement('progress');
  progress.className = 'site-progress';
  const progressText = span('site-progress-text');
  const error = createErrorLine('site-error');
  const stop = button('Stop', 'site-stop', actions.onStop);
  const open = button('Open your own model…', 'site-open', actions.onOpenModel);
  open.dataset.short = 'Open model…';
  const spacer = span('site-spacer');
  node.append(home, model, backend, progress, progressText, error.node, spacer, stop, open);

  function update(s: LoadState): void {
    // Called on every change of the state (a generation starting or ending, each chunk of a
    // load): only what differs is written, so the header is not restyled for nothing.
    setText(model, s.info ? `${s.info.label} · ${formatCount(s.info.parameters.total)} parameters` : 'no model');
    setText(backend, s.info ? s.info.backendDescription : '');
    set(backend, 'title', backend.textContent ?? '');
    setData(backend, 'backend', s.info?.backend ?? '');
    // The dot says whether this is the faster engine here (green), a slower one (orange), or the only one.
    setData(backend, 'choice', s.info?.backendChoice ?? '');
    const loading = s.phase === 'loading';
    set(progress, 'hidden', !loading);
    set(progressText, 'hidden', !loading);
    if (loading) {
      if (s.bytesTotal > 0) { progress.max = s.bytesTotal; progress.value = s.bytesDone; } else progress.removeAttribute('value');
      setText(progressText, s.bytesTotal > 0 ? `loading ${s.file}: ${mb(s.bytesDone)} / ${mb(s.bytesTotal)} MB` : 'loading…');
    }
    error.set(s.phase === 'error' && s.error ? s.error : '');
    // Stop ends the generations running, and a load in progress.
    set(stop, 'disabled', s.running === 0 && !loading);
    set(stop, 'title', loading ? 'Stop loading this model (the model in use stays)' : 'Stop the generations running');
  }
  return { node, update };
}

function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

function set<E extends HTMLElement, K extends keyof E>(node: E, key: K, value: E[K]): void {
  if (node[key] !== value) node[key] = value;
}

function setData(node: HTMLElement, key: string, value: string): void {
  if (node.dataset[key] !== value) node.dataset[key] = value;
}

function span(cls: string): HTMLSpanElement {
  const s = document.createElement('span');
  s.className = cls;
  return s;
}

function button(text: string, cls: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.textContent = text;
  b.addEventListener('click', onClick);
  return b;
}

const mb = (n: number) => (n / 1e6).toFixed(1);

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

// Paced drawing for a page that streams into many views at once (the site's notebooks). Without
// it a view draws as soon as it is given data. With it, a view's draw never runs in the task that
// gave it data: the views of a document take turns, each turn a task of its own that runs queued
// draws (in the order the views asked) until it has spent its budget, at least one, and the next
// turn waits for a frame to be drawn. So no task holds the page (input, scrolling) for more than
// a draw or two, and no frame lays out and paints more than one turn's changes. A view that asks
// again while it waits draws once, with its newest data.
//
// `settled` tells a producer when every queued draw is done, so it can hand the page its next
// state only then (site/api/client.ts): the page draws as often as it can keep up with, and no
// more, whatever the speed of the model or the load on the machine.

export interface Pacer {
  /** Milliseconds of drawing per frame before further draws wait for a later frame. */
  budget: number;
}

interface PacerState extends Pacer {
  /** A turn (the task that drains the queue) is on its way. */
  requested: boolean;
  queue: Map<object, () => void>;
  /** Waiting for the queue to empty. */
  waiters: (() => void)[];
  /** Posts a turn's task (a message: no timer clamping, and it yields to rendering and input). */
  channel: MessageChannel;
  /** The window's requestAnimationFrame (null where there is none). */
  frame: ((fn: () => void) => void) | null;
}

const pacers = new WeakMap<Document, PacerState>();

/** Turns pacing on for `doc` (the site does, for its notebooks); `budget` in ms of drawing per task. */
export function paceDocument(doc: Document, budget = 4): Pacer {
  let p = pacers.get(doc);
  if (!p) {
    const view = doc.defaultView;
    if (!view) throw new Error('pacing needs a document in a window');
    const channel = new view.MessageChannel();
    const frame = typeof view.requestAnimationFrame === 'function' ? (fn: () => void) => { view.requestAnimationFrame(fn); } : null;
    const state: PacerState = { budget, requested: false, queue: new Map(), waiters: [], channel, frame };
    channel.port1.onmessage = () => turn(state);
    pacers.set(doc, p = state);
  }
  p.budget = budget;
  return p;
}

/**
 * Runs `draw` now, or, on a paced document, in a later task. `key` identifies the drawer: a
 * later call with the same key replaces its queued draw and keeps its place.
 */
export function paced(doc: Document, key: object, draw: () => void): void {
  const p = pacers.get(doc);
  if (!p) { draw(); return; }
  p.queue.set(key, draw);
  nextTurn(p);
}

/**
 * Resolves once no draw waits on `doc` (at once on a document that is not paced, or whose queue
 * is empty), in the task that ran the last of them.
 */
export function settled(doc: Document): Promise<void> {
  const p = pacers.get(doc);
  if (!p || (p.queue.size === 0 && !p.requested)) return Promise.resolve();
  return new Promise((resolve) => p.waiters.push(resolve));
}

function nextTurn(p: PacerState): void {
  if (p.requested) return;
  p.requested = true;
  p.channel.port2.postMessage(null);
}

/**
 * The turn after one that drew waits for the next frame (then a task, so it runs after that
 * frame's rendering): a frame lays out and paints what one turn changed, not what seven views
 * changed at once, so neither the draws nor the rendering of them is one long task. Where frames
 * do not run (a hidden tab) it waits 100 ms at most.
 */
function nextTurnAfterFrame(p: PacerState): void {
  if (p.requested) return;
  p.requested = true;
  if (!p.frame) { p.channel.port2.postMessage(null); return; }
  let posted = false;
  const post = () => { if (!posted) { posted = true; p.channel.port2.postMessage(null); } };
  const timer = setTimeout(post, 100);
  p.frame(() => { clearTimeout(timer); post(); });
}

function turn(p: PacerState): void {
  p.requested = false;
  let spent = 0;
  for (const [key, draw] of p.queue) {
    if (spent > 0 && spent >= p.budget) break;
    p.queue.delete(key);
    const t0 = performance.now();
    try {
      draw();
    } catch (e) {
      // One view's failure is reported, and the others still draw.
      setTimeout(() => { throw e; });
    } finally {
      // At least a little, so a turn of quick draws still ends.
      spent += Math.max(0.25, performance.now() - t0);
    }
  }
  if (p.queue.size) { nextTurnAfterFrame(p); return; }
  const waiters = p.waiters;
  p.waiters = [];
  for (const w of waiters) w();
}

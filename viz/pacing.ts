// Paced drawing for a page that streams into many views at once (the site's notebooks). Without
// it a view draws as soon as it is given data. With it, a view's draw never runs in the task that
// gave it data: the views of a document take turns, each turn a task of its own that runs queued
// draws (in the order the views asked) until it has spent its budget, at least one. The browser
// renders between tasks when a frame is due, so no task holds the page (input, scrolling) for
// more than a draw or two, and a frame lays out and paints what the draws before it changed, all
// views at once. A view that asks again while it waits draws once, with its newest data.
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
}

const pacers = new WeakMap<Document, PacerState>();

/** Turns pacing on for `doc` (the site does, for its notebooks); `budget` in ms of drawing per task. */
export function paceDocument(doc: Document, budget = 4): Pacer {
  let p = pacers.get(doc);
  if (!p) {
    const view = doc.defaultView;
    if (!view) throw new Error('pacing needs a document in a window');
    const channel = new view.MessageChannel();
    const state: PacerState = { budget, requested: false, queue: new Map(), waiters: [], channel };
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
  if (p.queue.size) { nextTurn(p); return; }
  const waiters = p.waiters;
  p.waiters = [];
  for (const w of waiters) w();
}

// Frame pacing for a page that streams into many views at once (the site's notebooks). Without
// it a view draws as soon as it is given data. With it, the views of a document share a budget
// of drawing time per animation frame: a view draws at once while the frame has budget left and
// no other view waits, and otherwise at a later frame, in the order the views asked. What a
// frame draws it must also lay out and paint, in the same task, so the budget bounds the whole
// frame: seven views streaming a generation take turns over a few frames instead of holding the
// page (input, scrolling) for one long one. A view that asks again while it waits draws once,
// with its newest data.

export interface Pacer {
  /** Milliseconds of drawing per frame before further draws wait for a later frame. */
  budget: number;
}

interface PacerState extends Pacer {
  /** Drawing time spent since the last frame began. */
  spent: number;
  /** A draw is running (a draw that asks for another waits for a later frame). */
  running: boolean;
  /** A frame callback that drains the queue is requested. */
  requested: boolean;
  queue: Map<object, () => void>;
  view: Window;
}

const pacers = new WeakMap<Document, PacerState>();

/** Turns pacing on for `doc` (the site does, for its notebooks); `budget` in ms of drawing per frame. */
export function paceDocument(doc: Document, budget = 8): Pacer {
  let p = pacers.get(doc);
  if (!p) {
    const view = doc.defaultView;
    if (!view) throw new Error('pacing needs a document in a window');
    p = { budget, spent: 0, running: false, requested: false, queue: new Map(), view };
    pacers.set(doc, p);
  }
  p.budget = budget;
  return p;
}

/**
 * Runs `draw` now, or, on a paced document whose frame has used its budget (or where other draws
 * wait), at a later frame. `key` identifies the drawer: a later call with the same key replaces
 * its queued draw and keeps its place.
 */
export function paced(doc: Document, key: object, draw: () => void): void {
  const p = pacers.get(doc);
  if (!p) { draw(); return; }
  if (!p.running && p.spent < p.budget && p.queue.size === 0) { run(p, draw); return; }
  p.queue.set(key, draw);
  nextFrame(p);
}

/** The account opens afresh at the next frame, queued draws first (asked for only while there is something to do). */
function nextFrame(p: PacerState): void {
  if (p.requested) return;
  p.requested = true;
  p.view.requestAnimationFrame(() => {
    p.requested = false;
    p.spent = 0;
    drain(p);
  });
}

function run(p: PacerState, draw: () => void): void {
  const t0 = performance.now();
  p.running = true;
  try {
    draw();
  } finally {
    p.running = false;
    p.spent += performance.now() - t0;
    nextFrame(p);
  }
}

function drain(p: PacerState): void {
  for (const [key, draw] of p.queue) {
    if (p.spent >= p.budget) break;
    p.queue.delete(key);
    run(p, draw);
  }
  if (p.queue.size) nextFrame(p);
}

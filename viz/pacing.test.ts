import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { paceDocument, paced, settled } from './pacing.ts';

/** A document in a window: the pacer needs only its MessageChannel. */
function fakeDocument() {
  return { defaultView: { MessageChannel } } as unknown as Document;
}

/** Lets every task queued so far run (a turn posts the next one at once). */
const tasks = () => new Promise((r) => setTimeout(r, 20));

/**
 * Groups draws by the task they ran in: a microtask runs only once the task that queued it ends,
 * so draws that see the same open group share a task.
 */
function taskGroups() {
  const groups: string[][] = [];
  let open: string[] | null = null;
  return {
    groups,
    add(name: string) {
      if (!open) { groups.push(open = []); queueMicrotask(() => { open = null; }); }
      open.push(name);
    },
  };
}

// The pacer reads the clock around each draw: a draw here takes as long as it says, whatever the
// load on the machine.
let clock = 0;
const busy = (ms: number) => { clock += ms; };

describe('paced drawing', () => {
  beforeEach(() => { vi.spyOn(performance, 'now').mockImplementation(() => clock); });
  afterEach(() => { vi.restoreAllMocks(); });

  it('draws at once on a document that is not paced', () => {
    let drawn = 0;
    paced(fakeDocument(), {}, () => { drawn++; });
    expect(drawn).toBe(1);
  });

  it('never draws in the caller\'s task; a task runs draws until its budget is spent (at least one), the rest in later tasks', async () => {
    const doc = fakeDocument();
    paceDocument(doc, 4);
    const t = taskGroups();
    for (const name of ['a', 'b', 'c', 'd']) paced(doc, { name }, () => { t.add(name); busy(name === 'c' ? 9 : 3); });
    expect(t.groups).toEqual([]);
    await tasks();
    // a takes 3 ms, under the budget: b runs in its task and spends it; c alone is over it.
    expect(t.groups).toEqual([['a', 'b'], ['c'], ['d']]);
  });

  it('the turn after one that drew waits for a frame, or for 100 ms where frames do not run', async () => {
    const frames: (() => void)[] = [];
    const doc = { defaultView: { MessageChannel, requestAnimationFrame: (fn: () => void) => { frames.push(fn); return frames.length; } } } as unknown as Document;
    paceDocument(doc, 4);
    const order: string[] = [];
    paced(doc, {}, () => { order.push('a'); busy(5); });
    paced(doc, {}, () => { order.push('b'); busy(5); });
    paced(doc, {}, () => { order.push('c'); busy(5); });
    // The first turn needs no frame: it draws a, and b waits for the frame that shows a.
    await tasks();
    expect(order).toEqual(['a']);
    expect(frames).toHaveLength(1);
    frames.shift()!();
    await tasks();
    expect(order).toEqual(['a', 'b']);
    // No frame comes (a hidden tab): c draws anyway, 100 ms later.
    await new Promise((r) => setTimeout(r, 150));
    expect(order).toEqual(['a', 'b', 'c']);
    await settled(doc);
  });

  it('a drawer that asks again while it waits draws once, with its newest draw, in its place', async () => {
    const doc = fakeDocument();
    paceDocument(doc, 4);
    const a = {}, b = {};
    const order: string[] = [];
    paced(doc, a, () => order.push('a1'));
    paced(doc, b, () => order.push('b'));
    paced(doc, a, () => order.push('a2'));
    await tasks();
    expect(order).toEqual(['a2', 'b']);
  });

  it('settled resolves once every queued draw has run, at once when none waits', async () => {
    const doc = fakeDocument();
    paceDocument(doc, 1);
    await settled(doc);
    const order: string[] = [];
    paced(doc, {}, () => { order.push('a'); busy(2); });
    paced(doc, {}, () => { order.push('b'); busy(2); });
    const done = settled(doc).then(() => order.push('settled'));
    await done;
    expect(order).toEqual(['a', 'b', 'settled']);
  });

  it('a draw that throws does not stop the others', async () => {
    const doc = fakeDocument();
    paceDocument(doc, 50);
    const errors: unknown[] = [];
    const onError = (e: unknown) => errors.push(e);
    process.on('uncaughtException', onError);
    const order: string[] = [];
    paced(doc, {}, () => { throw new Error('broken view'); });
    paced(doc, {}, () => order.push('next'));
    await tasks();
    process.off('uncaughtException', onError);
    expect(order).toEqual(['next']);
    expect(String(errors[0])).toContain('broken view');
  });
});

import { describe, expect, it } from 'vitest';
import { createSlicer } from './slices.ts';

const busy = (ms: number) => { const t = performance.now(); while (performance.now() - t < ms) { /* spin */ } };
/** Resolves in a later task (a macrotask), after the microtasks of this one. */
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

describe('createSlicer', () => {
  it('runs definitions at once while the task has budget left, with their inputs and `this`', () => {
    const slice = createSlicer(50);
    const f = slice(function (this: unknown, a: number, b: number) { return [this, a + b]; });
    expect(f.call('self', 2, 3)).toEqual(['self', 5]);
  });

  it('defers the definitions called after the budget is spent to a later task, in the order they were called', async () => {
    const slice = createSlicer(5);
    const ran: string[] = [];
    const def = (name: string, ms: number) => slice(() => { ran.push(name); busy(ms); return name; });
    const a = def('a', 8)(), b = def('b', 1)(), c = def('c', 1)();
    expect(a).toBe('a');
    expect(ran).toEqual(['a']);
    expect(b).toBeInstanceOf(Promise);
    await Promise.resolve();
    expect(ran).toEqual(['a']);
    expect(await b).toBe('b');
    expect(await c).toBe('c');
    expect(ran).toEqual(['a', 'b', 'c']);
  });

  it('begins a new slice in a new task, so a quick definition later runs at once', async () => {
    const slice = createSlicer(5);
    slice(() => busy(8))();
    // Later tasks (the slicer's own message among them; Node does not order it against timers).
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(slice(() => 'now')()).toBe('now');
  });

  it('once disposed, runs no definition that was still waiting', async () => {
    const slice = createSlicer(1);
    const ran: string[] = [];
    slice(() => busy(3))();
    void slice(() => ran.push('late'))();
    slice.dispose();
    await nextTask();
    await nextTask();
    expect(ran).toEqual([]);
  });

  it('hands a generator through unchanged when deferred (the runtime then iterates it)', async () => {
    const slice = createSlicer(1);
    slice(() => busy(3))();
    const deferred = slice(function* () { yield 1; yield 2; })() as unknown as Promise<Generator<number>>;
    expect([...(await deferred)]).toEqual([1, 2]);
  });
});

// Cells computed in slices. The runtime computes every cell that is ready in one task (an
// animation frame and the promises it settles), so a notebook that opens with twenty charts and
// tables would build them all before the page could paint or answer a click. Each definition
// goes through `slice`: while the current task has spent less than `budgetMs` in definitions,
// the next one runs at once; past that, it waits for a new task, where a new slice begins.
// Definitions wait in the order they were called (the runtime's topological order).

/** Wraps a definition so that it runs in a slice. */
export type Slice = <F extends (...inputs: never[]) => unknown>(definition: F) => F;

export interface Slicer extends Slice {
  /** Definitions still waiting never run (the notebook is gone): a cell must not start work for a page that closed. */
  dispose(): void;
}

export function createSlicer(budgetMs = 12): Slicer {
  let open = false;
  let sliceStart = 0;
  let waiting: (() => void)[] = [];
  let disposed = false;
  // A message posted when a slice opens is delivered in a later task: by then the task that
  // opened the slice has ended, and definitions waiting for a new one can go.
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    open = false;
    const go = waiting;
    waiting = [];
    for (const resolve of go) resolve();
  };
  const enter = (): boolean => {
    const now = performance.now();
    if (!open) {
      open = true;
      sliceStart = now;
      channel.port2.postMessage(null);
      return true;
    }
    return now - sliceStart < budgetMs;
  };
  const nextTask = () => new Promise<void>((resolve) => { if (!disposed) waiting.push(resolve); });
  const slice = <F extends (...inputs: never[]) => unknown>(definition: F): F => function (this: unknown, ...inputs: never[]) {
    if (enter()) return definition.apply(this, inputs);
    const later = (): Promise<unknown> => nextTask().then(() => (enter() ? definition.apply(this, inputs) : later()));
    return later();
  } as F;
  return Object.assign(slice, {
    dispose() {
      disposed = true;
      waiting = [];
      channel.port1.close();
    },
  });
}

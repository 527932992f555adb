// The `Generators` builtin: the few the runtime and cells need, written here because the
// Observable standard library is not a dependency (and would reach for a CDN).

/**
 * A generator of promises fed by `initialize(change)`: each change resolves the next value.
 * `initialize` runs at once (Mutable relies on that) and may return a disposer, called by
 * `return()` when the runtime invalidates the cell.
 */
export function observe<T>(initialize: (change: (value: T) => void) => void | (() => void)): Generator<Promise<T>> & { return(): IteratorResult<Promise<T>> } {
  let stale = false;
  let value: T | undefined;
  let resolve: ((value: T) => void) | null = null;
  const dispose = initialize((x: T) => {
    value = x;
    if (resolve) { resolve(x); resolve = null; } else stale = true;
  });
  const generator = {
    [Symbol.iterator]() { return generator; },
    next(): IteratorResult<Promise<T>> {
      if (stale) { stale = false; return { done: false, value: Promise.resolve(value as T) }; }
      return { done: false, value: new Promise<T>((y) => { resolve = y; }) };
    },
    return(): IteratorResult<Promise<T>> {
      if (dispose) dispose();
      return { done: true, value: undefined as never };
    },
    throw(error: unknown): IteratorResult<Promise<T>> { throw error; },
  };
  return generator as unknown as Generator<Promise<T>> & { return(): IteratorResult<Promise<T>> };
}

function valueof(element: HTMLElement & { value?: unknown }): unknown {
  if (element instanceof HTMLInputElement) {
    switch (element.type) {
      case 'checkbox': return element.checked;
      case 'range':
      case 'number': return element.valueAsNumber;
      case 'file': return element.multiple ? element.files : element.files?.[0];
    }
  }
  if (element instanceof HTMLSelectElement && element.multiple) return Array.from(element.selectedOptions, (o) => o.value);
  return element.value;
}

/** The value of an input (or an Observable Inputs form) now and after each `input` event. */
export function input(element: HTMLElement): Generator<Promise<unknown>> {
  return observe((change) => {
    const inputted = () => change(valueof(element));
    element.addEventListener('input', inputted);
    if (valueof(element) !== undefined) inputted();
    return () => element.removeEventListener('input', inputted);
  });
}

/**
 * The content width of `element` (inside its padding) once it is laid out and whenever it
 * changes size. A width of 0 is never reported: an element that is detached or not laid out
 * measures 0, and a chart drawn at 0 has its margins overlap (negative bar widths). The cell
 * waits for a real width.
 * Read from the ResizeObserver's entries, which the browser delivers after its own layout:
 * measured at once instead (clientWidth, getComputedStyle), every `width` in a notebook that is
 * opening would force a layout of the whole page as it stands, tens of milliseconds each.
 */
export function width(element: HTMLElement): Generator<Promise<number>> {
  return observe((change) => {
    let last = -1;
    const observer = new ResizeObserver((entries) => {
      const box = entries.at(-1)!.contentBoxSize?.[0]?.inlineSize ?? entries.at(-1)!.contentRect.width;
      const w = Math.floor(box);
      if (w > 0 && w !== last) change(last = w);
    });
    observer.observe(element);
    return () => observer.disconnect();
  });
}

/** Date.now(), once per animation frame while the cell is visible to the runtime. */
export function* now(): Generator<number> {
  while (true) yield Date.now();
}

export const Generators = { observe, input, width, now };

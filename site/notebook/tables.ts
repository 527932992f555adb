// Tables wider than the page: each scrolls sideways in its own box, with a cue (a line saying so,
// and shadows at the edges with more columns) whenever it overflows, so no column is out of reach
// on a phone without the reader being told.

const observers = new WeakMap<Element, ResizeObserver>();

/** Wraps every table under `root` not wrapped yet. */
export function wrapTables(root: ParentNode): void {
  for (const table of root.querySelectorAll('table')) {
    if (table.parentElement?.classList.contains('nb-table-wrap')) continue;
    const wrap = document.createElement('div');
    wrap.className = 'nb-table-wrap';
    const cue = document.createElement('div');
    cue.className = 'nb-table-cue';
    cue.textContent = 'More columns: scroll the table sideways →';
    table.replaceWith(wrap);
    wrap.append(cue, table);
    // Its box (a flex item, an inline block) is no wider than the page: the table scrolls instead.
    // A class, not a :has() rule: with :has() every change inside an output (a chart streaming
    // tokens) would have the browser check the ancestors' styles again.
    const holder = wrap.parentElement;
    if (holder && !holder.classList.contains('nb-output')) holder.classList.add('nb-table-holder');
    // Whether it overflows depends on the width it is given: watched, not computed once.
    const update = () => wrap.classList.toggle('nb-overflows', table.offsetWidth > wrap.clientWidth + 1);
    const observer = new ResizeObserver(update);
    observer.observe(wrap);
    observer.observe(table);
    observers.set(wrap, observer);
  }
}

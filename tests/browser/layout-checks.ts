// Layout checks run in the page, for the site's phone and toggle tests: what a reader on a small
// screen would hit (a page wider than the screen, labels drawn over each other, table columns out
// of reach) and whether each code toggle opens its own cell. Each returns plain data to assert on.
import type { Page } from 'playwright-core';

export interface LayoutReport {
  /** document scrollWidth and the window's innerWidth. */
  scrollWidth: number;
  innerWidth: number;
  /** Elements that stick out past the right edge of the window, as "tag.class" (at most 10). */
  wide: string[];
  /** Pairs of SVG texts whose boxes overlap, as "svg-class: text a / text b" (at most 20). */
  overlaps: string[];
  /** Tables wider than the space shown for them with no way (a scroll box with its cue) to reach the rest. */
  hiddenColumns: string[];
  /** Charts (svg, canvas) wider than the notebook's column: drawn for another width than the one they are given. */
  wideCharts: string[];
  /** Charts wider than the column inside a scroll box of their own (reachable by scrolling it; for the record). */
  scrolledCharts: string[];
}

/** Layout of the notebook on the page now (every output painted: content-visibility lifted first). */
export async function layoutReport(page: Page): Promise<LayoutReport> {
  const style = await page.addStyleTag({ content: '.nb-output { content-visibility: visible !important; }' });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const report = await page.evaluate(() => {
    const name = (el: Element) => `${el.tagName.toLowerCase()}${el.getAttribute('class') ? `.${el.getAttribute('class')!.trim().split(/\s+/).join('.')}` : ''}`;
    const W = window.innerWidth;
    // Sticking out: an element's box past the window's right edge, unless a scroll box of its own clips it.
    const clipped = (el: Element) => {
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const o = getComputedStyle(p).overflowX;
        if ((o === 'auto' || o === 'scroll' || o === 'hidden') && p.getBoundingClientRect().right <= W + 0.5) return true;
      }
      return false;
    };
    const wide: string[] = [];
    for (const el of document.querySelectorAll('.site-header *, .nb-notebook *')) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > W + 0.5 && !clipped(el) && getComputedStyle(el).visibility !== 'hidden') wide.push(`${name(el)} (right ${Math.round(r.right)})`);
      if (wide.length >= 10) break;
    }
    // Texts in one SVG whose boxes overlap by more than a pixel each way, or that the SVG's edge cuts.
    const overlaps: string[] = [];
    for (const svg of document.querySelectorAll('.nb-notebook svg')) {
      if (svg.parentElement?.closest('svg')) continue;
      const texts = [...svg.querySelectorAll('text')].filter((t) => (t.textContent ?? '').trim() !== '' && t.getClientRects().length > 0 && getComputedStyle(t).display !== 'none' && getComputedStyle(t).visibility !== 'hidden');
      const boxes = texts.map((t) => t.getBoundingClientRect());
      const frame = svg.getBoundingClientRect();
      const cuts = getComputedStyle(svg).overflow !== 'visible';
      if (cuts) texts.forEach((t, i) => {
        const b = boxes[i]!;
        if (overlaps.length < 20 && (b.left < frame.left - 1 || b.right > frame.right + 1 || b.top < frame.top - 1 || b.bottom > frame.bottom + 1)) overlaps.push(`${svg.getAttribute('class') ?? 'svg'}: "${t.textContent}" cut by the chart's edge`);
      });
      for (let i = 0; i < texts.length && overlaps.length < 20; i++) {
        for (let j = i + 1; j < texts.length; j++) {
          const a = boxes[i]!, b = boxes[j]!;
          const w = Math.min(a.right, b.right) - Math.max(a.left, b.left), h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
          if (w > 1 && h > 1) { overlaps.push(`${svg.getAttribute('class') ?? 'svg'}: "${texts[i]!.textContent}" / "${texts[j]!.textContent}"`); break; }
        }
      }
    }
    // A table wider than its box must scroll in a box that shows the cue.
    const hiddenColumns: string[] = [];
    for (const table of document.querySelectorAll('.nb-notebook table')) {
      const t = table.getBoundingClientRect();
      const box = table.parentElement!;
      const b = box.getBoundingClientRect();
      const overflow = t.width > b.width + 1 || t.right > W + 0.5;
      if (!overflow) continue;
      const scrolls = ['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
      const cue = box.querySelector('.nb-table-cue');
      const cueShown = cue !== null && cue.getClientRects().length > 0;
      if (!scrolls || !cueShown) hiddenColumns.push(`${name(table)} (${Math.round(t.width)} px in ${Math.round(b.width)} px)`);
    }
    // Charts laid out for a wider page than this one (a top-level svg or canvas of an output).
    const wideCharts: string[] = [];
    const scrolledCharts: string[] = [];
    for (const output of document.querySelectorAll<HTMLElement>('.nb-output')) {
      const right = output.getBoundingClientRect().left + output.clientWidth;
      for (const c of output.querySelectorAll('svg, canvas')) {
        if (c.parentElement?.closest('svg')) continue;
        const r = c.getBoundingClientRect();
        if (!(r.width > 0 && r.right > right + 1)) continue;
        // A scroll box inside the output that fits the column: the rest is a scroll away.
        let box: HTMLElement | null = null;
        for (let p = c.parentElement; p && p !== output; p = p.parentElement) {
          if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX) && p.getBoundingClientRect().right <= right + 1) { box = p; break; }
        }
        const view = c.closest('.mx-view');
        const what = `${view ? `${name(view)} ` : ''}${name(c)} (${Math.round(r.width)} px, ${Math.round(r.right - right)} px too wide)`;
        (box ? scrolledCharts : wideCharts).push(box ? `${what} in ${name(box)}` : what);
      }
    }
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth: W, wide, overlaps, hiddenColumns, wideCharts, scrolledCharts };
  });
  await style.evaluate((el) => (el as Element).remove());
  return report;
}

export interface ToggleReport {
  /** Toggles on the page that a reader can see. */
  toggles: number;
  /** Those whose click at their centre opened something else than their own cell's code, or nothing. */
  wrong: string[];
}

/**
 * Clicks each visible `</>` at its centre, as a mouse does, and checks that exactly its own cell's
 * code opened; closes it again. (Hit-testing, not `element.click()`, is the point: a toggle covered
 * by another cell's is reached only through that one.)
 */
export async function clickEveryToggle(page: Page): Promise<ToggleReport> {
  const ids = await page.evaluate(() => [...document.querySelectorAll<HTMLElement>('.nb-cell')]
    .filter((c) => { const t = c.querySelector(':scope > .nb-toggle'); return t !== null && t.getClientRects().length > 0; })
    .map((c) => c.dataset.cellId!));
  const wrong: string[] = [];
  const openCells = () => page.evaluate(() => [...document.querySelectorAll<HTMLElement>('.nb-cell')].filter((c) => { const s = c.querySelector(':scope > .nb-source') as HTMLElement | null; return s !== null && !s.hidden; }).map((c) => c.dataset.cellId!));
  const before = new Set(await openCells());
  const settle = () => page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
  for (const id of ids) {
    const toggle = page.locator(`.nb-cell[data-cell-id="${id}"] > .nb-toggle`);
    await toggle.scrollIntoViewIfNeeded();
    const box = await toggle.boundingBox();
    if (!box) { wrong.push(`${id}: not on screen`); continue; }
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    // Opening focuses the editor, which may scroll it into view: the page settles first.
    await settle();
    // A toggle of a closed cell opens it, and only it; of an open one (```js echo) closes it, and only it.
    const now = new Set(await openCells());
    const expected = new Set(before);
    if (before.has(id)) expected.delete(id); else expected.add(id);
    const differ = [...new Set([...now, ...expected])].filter((c) => now.has(c) !== expected.has(c));
    if (differ.length) wrong.push(`${id}: changed [${differ.join(', ')}] instead`);
    // Back as it was: click the same toggle again, where it is now.
    await toggle.scrollIntoViewIfNeeded();
    const again = await toggle.boundingBox();
    if (again) await page.mouse.click(again.x + again.width / 2, again.y + again.height / 2);
    await settle();
    const after = new Set(await openCells());
    if (after.has(id) !== before.has(id)) {
      wrong.push(`${id}: a second click at its centre did not ${before.has(id) ? 'open' : 'close'} it again`);
      // Put back through the DOM, so the next toggle is checked from the same start.
      await toggle.evaluate((t) => (t as HTMLElement).click());
    }
  }
  return { toggles: ids.length, wrong };
}

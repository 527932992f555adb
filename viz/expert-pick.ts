// Every view that shows an expert opens its dashboard the same way: an element that stands for an
// expert carries `data-expert` (and `data-layer` where the view shows several layers); a click on
// it calls the view's `onExpert` option and dispatches a bubbling `mx-expert` event, so a notebook
// can listen on a view or on the whole page. A view of one layer gives its `layer` option.

/** The expert a reader picked: its layer (null where the view does not say) and index. */
export interface ExpertPick { layer: number | null; expert: number }
export type ExpertPickHandler = (pick: ExpertPick) => void;

/** The pick a click on `target` inside `root` makes, or null. */
export function expertPickAt(target: Element, root: Element, fallbackLayer: unknown): ExpertPick | null {
  const el = target.closest('[data-expert]');
  if (!el || !root.contains(el)) return null;
  const expert = Number(el.getAttribute('data-expert'));
  if (!Number.isInteger(expert) || expert < 0) return null;
  const at = el.closest('[data-layer]')?.getAttribute('data-layer');
  const layer = at != null && at !== '' ? Number(at) : typeof fallbackLayer === 'number' ? fallbackLayer : null;
  return { layer: layer !== null && Number.isInteger(layer) ? layer : null, expert };
}

/** Make clicks on experts inside `root` picks; `options()` gives the view's current options. */
export function listenForExpertPicks(root: HTMLElement, options: () => { onExpert: ExpertPickHandler | null; layer?: unknown }): void {
  root.addEventListener('click', (event) => {
    const o = options();
    const pick = expertPickAt(event.target as Element, root, o.layer);
    if (!pick) return;
    o.onExpert?.(pick);
    root.dispatchEvent(new CustomEvent<ExpertPick>('mx-expert', { detail: pick, bubbles: true }));
  });
}

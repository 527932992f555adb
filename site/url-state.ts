// Shareable state in the URL: the route and its parameters live in the hash
// (`#/tour?prompt=...&layer=2`), so links work from any sub-path of a static host.

export interface Route { path: string; params: URLSearchParams }

export function parseHash(hash: string): Route {
  const h = hash.replace(/^#/, '');
  const q = h.indexOf('?');
  const path = (q < 0 ? h : h.slice(0, q)).replace(/^\/+|\/+$/g, '');
  return { path, params: new URLSearchParams(q < 0 ? '' : h.slice(q + 1)) };
}

export function formatHash(route: Route): string {
  const q = route.params.toString();
  return `#/${route.path}${q ? `?${q}` : ''}`;
}

export function currentRoute(): Route {
  return parseHash(location.hash);
}

/** Sets (or, with null, removes) one parameter without adding a history entry or re-routing. */
export function setParam(name: string, value: string | null): void {
  const r = currentRoute();
  if (value === null) r.params.delete(name); else r.params.set(name, value);
  history.replaceState(history.state, '', formatHash(r));
}

type InputLike = HTMLElement & { value: unknown };

/**
 * For notebook cells: `viewof layer = urlState.bind("layer", Inputs.range([0, 5], {step: 1}))`.
 * The input starts from the URL's value when there is one, and writes its value back on input.
 */
export function bind<T extends InputLike>(name: string, input: T): T {
  const raw = currentRoute().params.get(name);
  if (raw !== null) {
    const now = input.value;
    const parsed = typeof now === 'number' ? Number(raw) : typeof now === 'boolean' ? raw === 'true' : raw;
    if (typeof parsed !== 'number' || Number.isFinite(parsed)) {
      input.value = parsed;
      input.dispatchEvent(new Event('input', { bubbles: true }));
    }
  }
  input.addEventListener('input', () => {
    const v = input.value;
    if (v === null || v === undefined || typeof v === 'object') return;
    setParam(name, String(v));
  });
  return input;
}

/** A parameter's value, for cells that only read. */
export function get(name: string): string | null {
  return currentRoute().params.get(name);
}

export const urlState = { bind, get, set: setParam };

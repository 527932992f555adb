// Shareable state in the URL: the route and its parameters live in the hash
// (`#/tour?prompt=...&layer=2`), so links work from any sub-path of a static host.
//
// One set of address keys for every notebook (ADDRESS_KEYS): a key means the same thing wherever
// it appears, so a link built for one notebook reads right in another. A value from the address is
// untrusted: it is checked against its input's domain (a select's options, a range's bounds and
// step, a number), and one that does not fit leaves the input at its default, with a note beside
// it saying why, never a cell error.

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

/** What each address key means, in every notebook that has it. */
export const ADDRESS_KEYS: Record<string, string> = {
  prompt: 'the text the notebook generates from or analyses',
  tokens: 'tokens to generate',
  temperature: 'sampling temperature (0: always the most likely token)',
  seed: 'the sampling seed of the text on screen',
  'keep-seed': 'the same seed for every generation (true) or a new one each time',
  layer: 'the layer shown',
  head: 'the attention head shown',
  token: 'the token followed (its position)',
  length: 'tokens of text analysed (per domain, where there are domains)',
  excerpt: 'tokens per excerpt',
  domain: 'a held-out domain',
  domains: 'held-out domains (comma-separated)',
  expert: 'an expert',
  experts: 'experts (comma-separated)',
  kind: 'the kind of intervention (ablate, force, bias)',
  bias: 'the bias added to a router logit',
  'rank-layer': 'the layer whose experts are ranked',
  capacity: 'the capacity factor',
  E: 'experts per layer',
  K: 'experts per token',
  start: 'the workshop\'s start time',
  'min-count': 'the fewest occurrences of a token for it to be listed',
  'lift-layer': 'the layer whose tokens by lift are shown',
  'co-layer': 'the layer whose co-activation and transitions are shown',
  structure: 'tokens of text for the routing structure (co-activation, transitions)',
  'ablate-layer': 'the layer where an expert is switched off',
  'ablate-expert': 'the expert switched off',
  'compare-layer': 'the layer whose routing difference is shown',
  clean: 'the clean text of a patching experiment',
  corrupt: 'the corrupted text of a patching experiment',
  answer: 'the answer the clean text leads to',
  wrong: 'the answer the corrupted text leads to',
  what: 'what is patched (an activation, or the routing)',
  backend: 'the engine (cpu or webgpu); read once, when the page loads',
};

/** Names used by earlier versions of the notebooks: still read, written under the new name. */
export const ALIASES: Record<string, string> = {
  text: 'prompt', lensPrompt: 'prompt', gen: 'tokens', n: 'length', sample: 'length', biasLayer: 'layer', ranklayer: 'rank-layer', topk: 'K', k: 'K',
  min: 'min-count', liftLayer: 'lift-layer', coLayer: 'co-layer', ablateLayer: 'ablate-layer', ablateExpert: 'ablate-expert', compareLayer: 'compare-layer',
};

/** A parameter's raw value, under its name or an earlier one. */
export function get(name: string): string | null {
  const params = currentRoute().params;
  const direct = params.get(name);
  if (direct !== null) return direct;
  for (const [old, now] of Object.entries(ALIASES)) if (now === name && params.has(old)) return params.get(old);
  return null;
}

/** Sets (or, with null, removes) one parameter without adding a history entry or re-routing. */
export function setParam(name: string, value: string | null): void {
  const r = currentRoute();
  for (const [old, now] of Object.entries(ALIASES)) if (now === name) r.params.delete(old);
  if (value === null) r.params.delete(name); else r.params.set(name, value);
  history.replaceState(history.state, '', formatHash(r));
}

type InputLike = HTMLElement & { value: unknown };

/** The inputs bound on this page, by key (for the link builder's checks and for tests). */
const boundInputs = new Map<string, InputLike>();

const INVALID = Symbol('invalid');

/** `raw` read as a value of the same type as `like` (the input's default), or INVALID. */
export function parseValue(raw: string, like: unknown): unknown {
  if (typeof like === 'number') {
    const x = raw.trim() === '' ? NaN : Number(raw);
    return Number.isFinite(x) ? x : INVALID;
  }
  if (typeof like === 'boolean') return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : INVALID;
  if (Array.isArray(like)) {
    const parts = raw === '' ? [] : raw.split(',');
    const numeric = like.length ? typeof like[0] === 'number' : parts.every((p) => p.trim() !== '' && Number.isFinite(Number(p)));
    return numeric ? parts.map(Number) : parts;
  }
  if (typeof like === 'string') return raw;
  return INVALID;
}

/** The value as written in the address. */
export function formatValue(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.join(',');
  if (typeof v === 'object') return null;
  return String(v);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return a === b;
}

/** In words, what an input accepts (its range, or its options as shown). */
function domainOf(input: HTMLElement): string {
  const range = input.querySelector<HTMLInputElement>('input[type=range], input[type=number]');
  if (range && range.min !== '' && range.max !== '') return `${range.min} to ${range.max}${range.step && range.step !== 'any' ? `, in steps of ${range.step}` : ''}`;
  const options = [...input.querySelectorAll('option')].map((o) => o.textContent?.trim()).filter(Boolean);
  if (options.length) return options.length > 8 ? `${options.slice(0, 8).join(', ')}, …` : options.join(', ');
  const choices = [...input.querySelectorAll('label')].map((l) => l.textContent?.trim()).filter(Boolean);
  return choices.length > 1 ? choices.slice(1).join(', ') : 'its kind of value';
}

/** A note beside the input: the value in the address that could not be used, and what is used instead. */
function addNote(input: HTMLElement, text: string): void {
  const note = document.createElement('p');
  note.className = 'url-note';
  note.setAttribute('role', 'status');
  note.textContent = text;
  input.append(note);
}

/**
 * For notebook cells: `viewof layer = urlState.bind("layer", Inputs.range([0, 5], {step: 1}))`.
 * The input starts from the address's value when there is a valid one, and writes its value back
 * on input. A value outside the input's domain leaves the default, with a note.
 */
export function bind<T extends InputLike>(name: string, input: T): T {
  const raw = get(name);
  boundInputs.set(name, input);
  if (raw !== null) {
    const before = input.value;
    const parsed = parseValue(raw, before);
    const shown = raw.length > 40 ? `${raw.slice(0, 40)}… (${raw.length} characters)` : raw;
    const reject = () => {
      addNote(input, `The address asks for ${name}=${shown}, which this input does not take (${domainOf(input)}): using ${formatValue(before) ?? 'its default'}.`);
      setParam(name, formatValue(before));
    };
    if (parsed === INVALID) reject();
    else {
      // The input itself is the judge of its domain: set the value and read it back. An option
      // that is not there reads back as null, a number out of range or off-step as another one.
      input.value = parsed;
      if (sameValue(input.value, parsed)) {
        input.dispatchEvent(new Event('input', { bubbles: true }));
        if (!currentRoute().params.has(name)) setParam(name, formatValue(parsed));
      } else {
        input.value = before;
        reject();
      }
    }
  }
  input.addEventListener('input', () => {
    const v = formatValue(input.value);
    if (v !== null) setParam(name, v);
  });
  return input;
}

/** The link to a notebook with these values (empty ones left out, so the notebook's default holds). */
export function hashFor(slug: string, values: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    const v = formatValue(value);
    if (v !== null && v !== '') params.set(key, v);
  }
  return formatHash({ path: slug, params });
}

/** Every input bound on this page, by key, with its value now. */
export function bound(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, input] of boundInputs) if (input.isConnected) out[key] = input.value;
  return out;
}

/** The input bound to `key` on this page (the link builder's test sets each one). */
export function input(key: string): HTMLElement | null {
  const el = boundInputs.get(key);
  return el && el.isConnected ? el : null;
}

export const urlState = { bind, get, set: setParam, hashFor, bound, input, keys: ADDRESS_KEYS };

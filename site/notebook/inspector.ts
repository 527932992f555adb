// Shows a cell's value: DOM nodes as they are, anything else as a compact one-line summary that
// expands (arrays, objects, maps, sets) one level at a time. All text goes through textContent,
// so a value can never inject markup.

const MAX_ITEMS = 20;
const MAX_STRING = 200;

function el(tag: string, className: string, text?: string): HTMLElement {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

type Entries = [key: string, value: unknown][];

/** Entries to show when expanded, or null for a value that does not expand. */
function entriesOf(value: unknown): Entries | null {
  if (value === null || typeof value !== 'object') return null;
  if (value instanceof Date || value instanceof RegExp || value instanceof Error || value instanceof Promise) return null;
  if (value instanceof Map) return [...value].map(([k, v]) => [summary(k), v]);
  if (value instanceof Set) return [...value].map((v, i) => [String(i), v]);
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    return Array.from(value as ArrayLike<unknown>, (v, i) => [String(i), v]);
  }
  return Object.keys(value).map((k) => [k, (value as Record<string, unknown>)[k]]);
}

function typeName(value: object): string {
  return value.constructor?.name ?? 'Object';
}

/** One line for any value; nested containers are abbreviated. */
export function summary(value: unknown, depth = 0): string {
  switch (typeof value) {
    case 'string': return JSON.stringify(value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value);
    case 'number': return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint': return `${value}n`;
    case 'symbol': return value.toString();
    case 'undefined': return 'undefined';
    case 'boolean': return String(value);
    case 'function': return `ƒ ${value.name || ''}(${value.length ? '…' : ''})`;
  }
  if (value === null) return 'null';
  const object = value as object;
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? 'Invalid Date' : object.toISOString();
  if (object instanceof RegExp) return String(object);
  if (object instanceof Error) return `${object.name}: ${object.message}`;
  if (object instanceof Promise) return 'Promise';
  if (typeof Node !== 'undefined' && object instanceof Node) return `<${object.nodeName.toLowerCase()}>`;
  const entries = entriesOf(object)!;
  const isList = Array.isArray(object) || ArrayBuffer.isView(object) || object instanceof Set;
  const name = Array.isArray(object) ? `Array(${entries.length})` : object instanceof Map || object instanceof Set ? `${typeName(object)}(${entries.length})` : ArrayBuffer.isView(object) ? `${typeName(object)}(${entries.length})` : typeName(object) === 'Object' ? '' : typeName(object);
  if (depth > 0) return name || (entries.length ? '{…}' : '{}');
  const shown = entries.slice(0, 6).map(([k, v]) => (isList ? summary(v, 1) : `${k}: ${summary(v, 1)}`));
  const more = entries.length > shown.length ? ', …' : '';
  return `${name ? `${name} ` : ''}${isList ? '[' : '{'}${shown.join(', ')}${more}${isList ? ']' : '}'}`;
}

/** A DOM node that shows `value`. */
export function inspect(value: unknown): Node {
  if (typeof Node !== 'undefined' && value instanceof Node) return value;
  const entries = entriesOf(value);
  const kind = value === null ? 'null' : typeof value;
  if (!entries || entries.length === 0) return el('span', `nb-inspect nb-inspect-${kind}`, summary(value));

  const details = el('details', 'nb-inspect nb-inspect-object') as HTMLDetailsElement;
  details.append(el('summary', '', summary(value)));
  // Children are built on first opening: a large value costs nothing until someone looks.
  details.addEventListener('toggle', () => {
    if (!details.open || details.childElementCount > 1) return;
    const list = el('div', 'nb-inspect-entries');
    for (const [key, child] of entries.slice(0, MAX_ITEMS)) {
      const row = el('div', 'nb-inspect-entry');
      row.append(el('span', 'nb-inspect-key', `${key}: `), inspect(child));
      list.append(row);
    }
    if (entries.length > MAX_ITEMS) list.append(el('div', 'nb-inspect-entry nb-inspect-more', `… ${entries.length - MAX_ITEMS} more`));
    details.append(list);
  });
  return details;
}

/** The error shown in place of a cell's value. */
export function inspectError(error: unknown): HTMLElement {
  const message = error instanceof Error ? `${error.name === 'RuntimeError' || error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  return el('div', 'nb-error', message);
}

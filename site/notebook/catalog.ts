// The notebook list as a JavaScript module: metadata up front (for the index page), each
// notebook's compiled blocks behind a dynamic import (so a page loads only the one it shows).
import type { NotebookListing, NotebookMeta } from './types.ts';

export const VIRTUAL_ID = 'virtual:mixscope-notebooks';
/** Prefix of one notebook's module: `virtual:mixscope-notebooks/nb/<slug>`. */
export const NOTEBOOK_PREFIX = `${VIRTUAL_ID}/nb/`;

/** By `order`, then by title, then by slug so the list never depends on file-system order. */
export function sortNotebooks<T extends NotebookMeta>(notebooks: readonly T[]): T[] {
  return [...notebooks].sort((a, b) => a.order - b.order || a.title.localeCompare(b.title) || a.slug.localeCompare(b.slug));
}

/** The catalog; a notebook given without its listing is listed under "Notebooks". */
export function catalogModule(notebooks: readonly (NotebookMeta & Partial<NotebookListing>)[]): string {
  const entries = sortNotebooks(notebooks).map(({ slug, title, summary, order, group = 'Notebooks', minutes = 1, keys = [] }) =>
    `  { slug: ${JSON.stringify(slug)}, title: ${JSON.stringify(title)}, summary: ${JSON.stringify(summary)}, order: ${order},\n`
    + `    group: ${JSON.stringify(group)}, minutes: ${minutes}, keys: ${JSON.stringify(keys)},\n`
    + `    load: () => import(${JSON.stringify(NOTEBOOK_PREFIX + slug)}).then((m) => m.default) },`);
  return `export const notebooks = [\n${entries.join('\n')}\n];\n`;
}

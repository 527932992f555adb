// One notebook's page: its title and summary, then the mounted notebook. A notebook that fails
// to load or mount shows the error; the site around it keeps working.
import type { NotebookEntry } from 'virtual:mixscope-notebooks';
import { mountNotebook } from './notebook/mount.ts';

export interface NotebookHost {
  /** Values every cell can name (`viz`, `urlState`, ...). */
  builtins: Record<string, unknown>;
  /** Definitions the runtime calls (`mixscope`, a generator of one API per loaded model). */
  definitions: Record<string, () => unknown>;
}

export async function renderNotebookPage(main: HTMLElement, notebooks: readonly NotebookEntry[], slug: string, host: NotebookHost): Promise<() => void> {
  const entry = notebooks.find((n) => n.slug === slug);
  const article = document.createElement('article');
  article.className = 'site-notebook';
  article.dataset.slug = slug;
  main.append(article);
  if (!entry) {
    article.append(message(`There is no notebook called "${slug}".`, true), backLink());
    return () => {};
  }
  document.title = `${entry.title} · Mixscope`;
  try {
    const nb = await entry.load();
    const body = document.createElement('div');
    article.append(body);
    const mounted = mountNotebook(body, nb, host.builtins, host.definitions, { storage: browserStorage() });
    return () => mounted.dispose();
  } catch (e) {
    article.append(message(`This notebook could not be opened: ${(e as Error).message}`, true), backLink());
    return () => {};
  }
}

function message(text: string, error: boolean): HTMLElement {
  const p = document.createElement('p');
  p.className = error ? 'site-message error' : 'site-message';
  p.textContent = text;
  return p;
}

function backLink(): HTMLElement {
  const a = document.createElement('a');
  a.href = '#/';
  a.textContent = 'All notebooks';
  return a;
}

/** localStorage, or null where the browser refuses it (private modes, sandboxed frames). */
function browserStorage(): Storage | null {
  try { return window.localStorage; } catch { return null; }
}

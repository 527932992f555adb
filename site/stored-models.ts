// "Stored in this browser": the Hub models this browser keeps (Cache Storage, shared with the
// engine's worker), each with its size and a Remove button, and Clear all. Refreshed when the
// dialog opens and after a model is opened.
import { clearStoredModels, listStoredModels, removeStoredModel, type StoredSnapshot } from '../engine/hub/browser-cache.ts';
import { formatRepoRef } from '../engine/hub/repo-ref.ts';
import { DEFAULT_ENDPOINT } from '../engine/hub/urls.ts';
import { formatBytes } from '../engine/footprint/footprint.ts';

export interface StoredList {
  node: HTMLElement;
  refresh(): Promise<void>;
}

export function createStoredList(onOpen: (model: string, endpoint: string) => void): StoredList {
  const node = document.createElement('section');
  node.className = 'open-hub-stored';
  const title = document.createElement('h3');
  title.textContent = 'Stored in this browser';
  const list = document.createElement('ul');
  const footer = document.createElement('p');
  node.append(title, list, footer);

  async function refresh(): Promise<void> {
    if (typeof caches === 'undefined') {
      list.replaceChildren();
      footer.textContent = 'This page cannot store models (no Cache Storage: the page is not served over HTTPS or from localhost).';
      return;
    }
    let stored: StoredSnapshot[] = [];
    try { stored = await listStoredModels(caches); } catch (e) {
      footer.textContent = `Cannot read what is stored: ${(e as Error).message}`;
      return;
    }
    list.replaceChildren(...stored.map(row));
    footer.replaceChildren();
    if (!stored.length) { footer.textContent = 'Nothing stored yet: models opened from the Hub are kept here.'; return; }
    const total = stored.reduce((a, s) => a + s.bytes, 0);
    const clear = document.createElement('button');
    clear.type = 'button';
    clear.className = 'open-hub-clear';
    clear.textContent = `Clear all (${formatBytes(total)})`;
    clear.addEventListener('click', async () => { await clearStoredModels(caches); await refresh(); });
    footer.append(clear);
  }

  function row(s: StoredSnapshot): HTMLLIElement {
    const li = document.createElement('li');
    const name = formatRepoRef({ repo: s.repo, revision: s.revision });
    const text = document.createElement('span');
    text.className = 'open-hub-stored-name';
    const where = s.endpoint === DEFAULT_ENDPOINT ? '' : ` from ${s.endpoint}`;
    text.textContent = `${name}${where} · ${formatBytes(s.bytes)} in ${Object.keys(s.files).length} files · commit ${s.commit.slice(0, 7)}`;
    const open = document.createElement('button');
    open.type = 'button';
    open.textContent = 'Open';
    open.addEventListener('click', () => onOpen(name, s.endpoint));
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Remove';
    remove.addEventListener('click', async () => { await removeStoredModel(s, caches); await refresh(); });
    li.append(text, open, remove);
    return li;
  }
  return { node, refresh };
}

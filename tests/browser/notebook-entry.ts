// Browser entry for tests/browser/notebook.test.ts: mounts one notebook of notebooks/fixtures
// (the `?nb=` slug) with a host builtin, and exposes the handle for the test.
import { notebooks } from 'virtual:mixscope-notebooks';
import { mountNotebook, type MountedNotebook } from '../../site/notebook/index.ts';

declare global {
  interface Window {
    notebook?: MountedNotebook; notebookList?: string[]; notebookReady?: Promise<void>;
    /** Mounts another fixture notebook into any container, attached to the page or not. */
    mountFixture?: (slug: string, container: HTMLElement) => Promise<MountedNotebook>;
    widthsSeen?: number[];
  }
}

window.notebookList = notebooks.map((n) => n.slug);
window.mountFixture = async (slug, container) => {
  const entry = notebooks.find((n) => n.slug === slug);
  if (!entry) throw new Error(`no notebook ${slug}`);
  return mountNotebook(container, await entry.load());
};
window.notebookReady = (async () => {
  const slug = new URLSearchParams(location.search).get('nb') ?? 'basics';
  const entry = notebooks.find((n) => n.slug === slug);
  if (!entry) throw new Error(`no notebook ${slug}`);
  window.notebook = mountNotebook(document.getElementById('app')!, await entry.load(), { hostGreeting: 'hello from the host' });
})();

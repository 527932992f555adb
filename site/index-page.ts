// The list of notebooks, in their front-matter order.
export interface NotebookEntry { slug: string; title: string; summary: string; order: number }

export function renderIndex(main: HTMLElement, notebooks: readonly NotebookEntry[]): void {
  const intro = document.createElement('section');
  intro.className = 'site-intro';
  const h1 = document.createElement('h1');
  h1.textContent = 'Mixscope';
  const p = document.createElement('p');
  p.textContent = 'Watch a Mixture-of-Experts language model think: every token, which experts it is sent to, and where it attends, live in your browser.';
  intro.append(h1, p);
  const list = document.createElement('ol');
  list.className = 'site-notebooks';
  for (const nb of notebooks) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = `#/${nb.slug}`;
    const t = document.createElement('strong');
    t.textContent = nb.title;
    const s = document.createElement('span');
    s.textContent = nb.summary;
    a.append(t, s);
    li.append(a);
    list.append(li);
  }
  main.append(intro, list);
}

// The list of notebooks: under their group's heading (Start here, Curriculum, For instructors,
// For notebook authors), in their front-matter order, each card with its reading time.
export interface NotebookEntry { slug: string; title: string; summary: string; order: number; group: string; minutes: number }

export function renderIndex(main: HTMLElement, notebooks: readonly NotebookEntry[]): void {
  const intro = document.createElement('section');
  intro.className = 'site-intro';
  const h1 = document.createElement('h1');
  h1.textContent = 'Mixscope';
  const p = document.createElement('p');
  p.textContent = 'Watch a Mixture-of-Experts language model think: every token, which experts it is sent to, and where it attends, live in your browser.';
  intro.append(h1, p);
  main.append(intro);
  // Groups in the order of their first notebook.
  const groups = new Map<string, NotebookEntry[]>();
  for (const nb of notebooks) groups.set(nb.group, [...(groups.get(nb.group) ?? []), nb]);
  for (const [group, entries] of groups) {
    const section = document.createElement('section');
    section.className = 'site-group';
    const h2 = document.createElement('h2');
    h2.textContent = group;
    const list = document.createElement('ol');
    list.className = 'site-notebooks';
    for (const nb of entries) {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = `#/${nb.slug}`;
      const t = document.createElement('strong');
      t.textContent = nb.title;
      const s = document.createElement('span');
      s.textContent = nb.summary;
      const time = document.createElement('small');
      time.className = 'site-reading';
      time.textContent = `${nb.minutes} min read`;
      a.append(t, s, time);
      li.append(a);
      list.append(li);
    }
    section.append(h2, list);
    main.append(section);
  }
}

// The `md` builtin: a tagged template that renders Markdown with marked and returns a DOM node.
// Interpolated text is HTML-escaped before rendering (so a value cannot inject markup), and
// interpolated DOM nodes are put in place after rendering.
import { Marked } from 'marked';

const marked = new Marked({ gfm: true });

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

export function md(strings: TemplateStringsArray, ...values: unknown[]): HTMLElement {
  const nodes: Node[] = [];
  let source = strings[0]!;
  values.forEach((value, i) => {
    if (value instanceof Node) source += `<span data-nb-slot="${nodes.push(value) - 1}"></span>`;
    else if (value != null && value !== false) source += escapeHtml(Array.isArray(value) ? value.join('') : String(value));
    source += strings[i + 1]!;
  });
  const root = document.createElement('div');
  root.className = 'nb-md';
  root.innerHTML = marked.parse(source, { async: false });
  for (const slot of root.querySelectorAll<HTMLElement>('[data-nb-slot]')) slot.replaceWith(nodes[Number(slot.dataset.nbSlot)]!);
  return root;
}

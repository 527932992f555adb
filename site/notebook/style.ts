// The notebook's stylesheet (classes prefixed `nb-`) and the Observable Inputs stylesheet, added
// to a document once. Inputs' CSS comes through the notebooks plugin because the package does
// not export the file.
import inputsCss from 'virtual:mixscope-notebooks/inputs.css?inline';

const CSS = `
.nb-notebook {
  --sans-serif: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif;
  --monospace: ui-monospace, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
  --nb-text: #1f2328; --nb-muted: #6e7781; --nb-faint: #f6f8fa; --nb-rule: #e5e7eb;
  --nb-accent: #3b5bdb; --nb-error: #c92a2a; --nb-prose-width: 720px;
  font: 16px/1.6 var(--sans-serif);
  color: var(--nb-text);
  max-width: var(--nb-prose-width);
  margin: 0 auto;
  padding: 24px 40px 64px;
}
.nb-notebook > .nb-title { font-size: 2rem; line-height: 1.2; margin: 0.5em 0 0.2em; }
.nb-notebook > .nb-summary { color: var(--nb-muted); margin: 0 0 1.5em; font-size: 1.1rem; }
.nb-prose { max-width: var(--nb-prose-width); }
.nb-prose h1, .nb-prose h2, .nb-prose h3 { line-height: 1.25; margin: 1.4em 0 0.5em; }
.nb-prose code, .nb-md code { font: 0.88em var(--monospace); background: var(--nb-faint); padding: 0.1em 0.3em; border-radius: 3px; }
.nb-prose pre, .nb-md pre { font: 13px/1.5 var(--monospace); background: var(--nb-faint); padding: 10px 12px; border-radius: 4px; overflow-x: auto; }
.nb-prose pre code, .nb-md pre code { background: none; padding: 0; }
.nb-inline { font-variant-numeric: tabular-nums; }
.nb-inline.nb-error { display: inline; padding: 0 0.3em; }

.nb-cell { position: relative; margin: 1em 0; }
.nb-output { min-height: 1.6em; overflow-x: auto; transition: opacity 150ms; }
/* Outputs scrolled out of view skip style, layout and paint: a live chart far down the page
   costs nothing per token until the reader scrolls to it (then it shows its latest state). */
.nb-output { content-visibility: auto; contain-intrinsic-size: auto 2em; }
.nb-output.nb-running { opacity: 0.55; }
.nb-output > .nb-md > :first-child { margin-top: 0; }
.nb-output > .nb-md > :last-child { margin-bottom: 0; }
.nb-output form { margin: 0.25em 0; }
.nb-name { font: 13px/1.6 var(--monospace); color: var(--nb-accent); white-space: pre; }
/* Name and value top-aligned as blocks, so an expanded value grows downward from its name. */
.nb-output > .nb-name, .nb-output > .nb-inspect { display: inline-block; vertical-align: top; }
.nb-inspect { font: 13px/1.6 var(--monospace); color: var(--nb-text); }
.nb-inspect-string { color: #0a7c52; }
.nb-inspect-number, .nb-inspect-bigint, .nb-inspect-boolean { color: #1c5fb8; }
.nb-inspect-undefined, .nb-inspect-null { color: var(--nb-muted); }
details.nb-inspect > summary { cursor: pointer; list-style: none; }
details.nb-inspect > summary::-webkit-details-marker { display: none; }
details.nb-inspect > summary::before { content: "▸ "; color: var(--nb-muted); }
details.nb-inspect[open] > summary::before { content: "▾ "; }
.nb-inspect-entries { padding-left: 1.2em; border-left: 1px solid var(--nb-rule); margin-left: 0.2em; }
.nb-inspect-key { color: var(--nb-muted); }
.nb-error { color: var(--nb-error); font: 13px/1.5 var(--monospace); white-space: pre-wrap;
  background: #fff5f5; border-left: 3px solid var(--nb-error); padding: 4px 8px; border-radius: 2px; }

.nb-toggle { position: absolute; left: -36px; top: 0; width: 28px; height: 22px; padding: 0;
  font: 11px/22px var(--monospace); color: var(--nb-muted); background: none; border: 1px solid transparent;
  border-radius: 4px; cursor: pointer; opacity: 0.35; }
.nb-cell:hover .nb-toggle, .nb-toggle:focus-visible, .nb-toggle[aria-expanded="true"] { opacity: 1; border-color: var(--nb-rule); }
.nb-source { margin-top: 6px; border: 1px solid var(--nb-rule); border-radius: 4px; background: var(--nb-faint); }
.nb-source[hidden] { display: none; }
.nb-source .cm-editor { font-size: 13px; background: transparent; }
.nb-source .cm-editor.cm-focused { outline: none; }
.nb-source:focus-within { border-color: #a5b4fc; }
.nb-source .cm-content { font-family: var(--monospace); padding: 6px 0; }
.nb-source .cm-activeLine { background: transparent; }
.nb-source .cm-focused .cm-activeLine { background: rgba(59, 91, 219, 0.05); }
.nb-source-bar { display: flex; justify-content: flex-end; gap: 8px; align-items: center;
  padding: 2px 6px 4px; font: 11px var(--sans-serif); color: var(--nb-muted); }
.nb-run { font: 12px var(--sans-serif); padding: 2px 10px; border: 1px solid var(--nb-rule); border-radius: 4px;
  background: white; color: var(--nb-text); cursor: pointer; }
.nb-run:hover { border-color: var(--nb-accent); color: var(--nb-accent); }
@media (max-width: 640px) {
  .nb-notebook { padding: 16px; }
  .nb-toggle { position: static; display: block; margin-bottom: 4px; opacity: 0.6; }
}
`;

const STYLE_ID = 'nb-style';

export function ensureStyles(document: Document): void {
  if (document.getElementById(STYLE_ID)) return;
  const style = document.createElement('style');
  style.id = STYLE_ID;
  style.textContent = `${inputsCss}\n${CSS}`;
  document.head.append(style);
}

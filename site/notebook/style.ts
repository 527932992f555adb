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
.nb-notebook > .nb-summary { color: var(--nb-muted); margin: 0 0 0.6em; font-size: 1.1rem; }
.nb-tools { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; margin: 0 0 1.5em; font: 12px var(--sans-serif); color: var(--nb-muted); }
.nb-tools button { font: inherit; padding: 2px 8px; border: 1px solid var(--nb-rule); border-radius: 4px; background: white; color: var(--nb-text); cursor: pointer; }
.nb-tools button:hover { border-color: var(--nb-accent); color: var(--nb-accent); }
.nb-tools [hidden] { display: none; }
.nb-code-switch { display: none; }
.nb-edited-note { color: #9a6700; }
.nb-edited > .nb-toggle { color: #9a6700; opacity: 0.9; }
.nb-edited > .nb-toggle::after { content: "•"; margin-left: 1px; }
.nb-prose { max-width: var(--nb-prose-width); }
.nb-prose h1, .nb-prose h2, .nb-prose h3 { line-height: 1.25; margin: 1.4em 0 0.5em; }
.nb-prose code, .nb-md code { font: 0.88em var(--monospace); background: var(--nb-faint); padding: 0.1em 0.3em; border-radius: 3px; }
.nb-prose pre, .nb-md pre { font: 13px/1.5 var(--monospace); background: var(--nb-faint); padding: 10px 12px; border-radius: 4px; overflow-x: auto; }
.nb-prose pre code, .nb-md pre code { background: none; padding: 0; }
.nb-inline { font-variant-numeric: tabular-nums; }
/* A table wider than the page scrolls in its own box; while it overflows, a line and edge shadows say so. */
.nb-table-wrap { max-width: 100%; overflow-x: auto; margin: 0.5em 0;
  background: linear-gradient(to right, white 30%, rgba(255,255,255,0)) left / 24px 100% no-repeat local,
    linear-gradient(to left, white 30%, rgba(255,255,255,0)) right / 24px 100% no-repeat local,
    radial-gradient(farthest-side at 0 50%, rgba(0,0,0,.18), rgba(0,0,0,0)) left / 10px 100% no-repeat scroll,
    radial-gradient(farthest-side at 100% 50%, rgba(0,0,0,.18), rgba(0,0,0,0)) right / 10px 100% no-repeat scroll; }
.nb-table-wrap > table { margin: 0; }
/* A box that holds a table (a flex item, an inline block) is no wider than the page: the table scrolls instead. */
.nb-table-holder { min-width: 0; max-width: 100%; }
.nb-prose code { overflow-wrap: anywhere; }
.nb-table-cue { display: none; position: sticky; left: 0; font: 11px var(--sans-serif); color: var(--nb-muted); padding: 0 0 2px; }
.nb-table-wrap.nb-overflows > .nb-table-cue { display: block; }
.nb-prose table { border-collapse: collapse; font-size: 14px; }
.nb-prose th, .nb-prose td { padding: 4px 10px; border-bottom: 1px solid var(--nb-rule); text-align: left; vertical-align: top; }
.nb-prose thead th { border-bottom: 2px solid #ccc; }
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

/* The toggle of a cell that shows something sits in the margin beside its first line; outputs
   are at least as tall as it (min-height), so two toggles never overlap. */
.nb-toggle { position: absolute; left: -36px; top: 0; width: 28px; height: 22px; padding: 0;
  font: 11px/20px var(--monospace); color: var(--nb-muted); background: none; border: 1px solid transparent;
  border-radius: 4px; cursor: pointer; opacity: 0.35; white-space: nowrap; }
.nb-toggle-label { display: none; }
.nb-cell:hover .nb-toggle, .nb-toggle:focus-visible, .nb-toggle[aria-expanded="true"] { opacity: 1; border-color: var(--nb-rule); }
/* A quiet cell (nothing to show) is a chip in the flow, with its name; quiet neighbours share a line. */
.nb-cell.nb-quiet { display: inline-block; margin: 0 6px 4px 0; vertical-align: top; }
.nb-cell.nb-quiet.nb-open { display: block; margin: 0.5em 0; }
.nb-quiet > .nb-toggle { position: static; width: auto; height: 20px; padding: 0 6px; opacity: 0.6; border-color: var(--nb-rule);
  background: var(--nb-faint); font-size: 11px; line-height: 18px; max-width: 22em; overflow: hidden; text-overflow: ellipsis; }
.nb-quiet > .nb-toggle .nb-toggle-label { display: inline; margin-left: 0.5em; font-family: var(--monospace); }
.nb-quiet > .nb-toggle:hover { opacity: 1; }
.nb-source { margin-top: 6px; border: 1px solid var(--nb-rule); border-radius: 4px; background: var(--nb-faint); }
.nb-source[hidden] { display: none; }
.nb-source .cm-editor { font-size: 13px; background: transparent; }
.nb-source .cm-editor.cm-focused { outline: none; }
.nb-source:focus-within { border-color: #a5b4fc; }
.nb-source .cm-content { font-family: var(--monospace); padding: 6px 0; }
/* The code as text until its editor is built (cell-view.ts): set as CodeMirror sets its lines. */
.nb-source-text { margin: 0; padding: 6px 2px 6px 6px; font: 13px/1.4 var(--monospace); white-space: pre-wrap;
  overflow-wrap: anywhere; cursor: text; }
.nb-source-text:focus { outline: none; }
.nb-source .cm-activeLine { background: transparent; }
.nb-source .cm-focused .cm-activeLine { background: rgba(59, 91, 219, 0.05); }
.nb-source-bar { display: flex; justify-content: flex-end; gap: 8px; align-items: center;
  padding: 2px 6px 4px; font: 11px var(--sans-serif); color: var(--nb-muted); }
.nb-run { font: 12px var(--sans-serif); padding: 2px 10px; border: 1px solid var(--nb-rule); border-radius: 4px;
  background: white; color: var(--nb-text); cursor: pointer; }
.nb-run:hover { border-color: var(--nb-accent); color: var(--nb-accent); }
/* Phones: no margin for toggles. Code is one switch away (the notebook's "Code" button): with it
   on, each cell's toggle heads the cell at its right, quiet cells show their chips. */
@media (max-width: 640px) {
  .nb-notebook { padding: 12px 14px 48px; font-size: 15px; }
  .nb-notebook .nb-table-wrap table { font-size: 12px; }
  .nb-notebook .nb-table-wrap th, .nb-notebook .nb-table-wrap td { padding: 3px 6px; }
  .nb-toggle { display: none; }
  .nb-code-switch { display: inline-block; }
  .nb-notebook:not(.nb-show-code) .nb-cell.nb-quiet:not(.nb-open) { display: none; }
  .nb-show-code .nb-toggle { display: block; position: static; margin: 0 0 2px auto; opacity: 0.7; border-color: var(--nb-rule); }
  .nb-show-code .nb-quiet > .nb-toggle { display: inline-block; margin: 0; }
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

// The Mixscope site: an index of notebooks and one page per notebook, the engine in a worker.
import * as d3 from 'd3';
import { notebooks } from 'virtual:mixscope-notebooks';
import * as viz from '../viz/index.ts';
import { MixscopeClient } from './api/client.ts';
import { modelStream } from './api/model-stream.ts';
import { heldout } from './api/heldout.ts';
import chosenPrompts from '../notebooks/default-prompts.json';
import { mixtral } from './api/mixtral-lib.ts';
import { createHeader, formatCount } from './header.ts';
import { createOpenModelDialog } from './open-model.ts';
import { currentRoute, urlState } from './url-state.ts';
import { renderIndex } from './index-page.ts';
import { renderNotebookPage } from './notebook-page.ts';
import { whenIdle } from './notebook/when-idle.ts';
import './style.css';

// The tour streams a generation into seven views: they take turns, one view's drawing per task
// and one view's changes per frame (viz/pacing.ts, budget 0: a single draw per turn), so neither a
// draw nor the rendering after it holds the page for long; a generation hands the page its next
// state once the last one is drawn, ten at most a second. Measured (npm run bench:site, same
// machine, one run each): the longest task 8-21 ms of thread time against 10-28 ms at 4 ms a turn;
// with the main thread slowed 3x, 34 tasks over 50 ms against 53 (longest 75 ms against 82).
viz.paceDocument(document, 0);

// The browser loads its locale data the first time a number is formatted with a locale (Inputs'
// menus and tables do it, so do notebooks' figures): 0.1-0.2 s in one task on a slow machine.
// Done when the page is first idle, it is not paid in the middle of opening a notebook.
whenIdle(() => { (0).toLocaleString('en-US'); (0).toLocaleString(); }, 5000);

const DEFAULT_MODEL = new URL('mixscope-tiny/', location.href.replace(/#.*$/, '')).href;

const worker = new Worker(new URL('./api/worker.ts', import.meta.url), { type: 'module' });
const client = new MixscopeClient(worker, { drawn: () => viz.settled(document), interval: 100 });
// `backend=cpu` or `backend=webgpu` asks for an engine, in the notebook's address
// (`#/tour?backend=cpu`) or before it (`.../?backend=webgpu#/tour`; the notebook's wins).
// Otherwise the faster one is chosen (engine-host.ts). The engine is chosen once per page load.
const askedBackend = (): 'auto' | 'cpu' | 'webgpu' => {
  const v = currentRoute().params.get('backend') ?? new URLSearchParams(location.search).get('backend');
  return v === 'cpu' || v === 'webgpu' ? v : 'auto';
};
const backend = askedBackend();

const dialog = createOpenModelDialog((source, weights) => client.load(source, backend, weights), DEFAULT_MODEL, () => client.cancelLoad(), (source, weights) => client.inspect(source, backend, weights));
const header = createHeader({ onStop: () => client.stop(), onOpenModel: () => dialog.open() });
client.onState(header.update);
// Exported figures name the model and engine they came from (viz/figure.ts reads this).
client.onState((s) => {
  if (s.info) document.documentElement.dataset.mixscopeSource = `the model ${s.info.label} (${formatCount(s.info.parameters.total)} parameters) on ${s.info.backend === 'webgpu' ? 'WebGPU' : 'the CPU engine'}`;
});
const main = document.createElement('main');
main.className = 'site-main';
document.body.append(header.node, main, dialog.node);

// What cells can name beyond the notebook standard library. `mixscope` is a definition (a
// generator): a new API object per loaded model, so cells that use it re-run on a model change.
// `urlState.notebooks`: each notebook's address keys, for the workshop guide's link builder.
const linkable = notebooks.map(({ slug, title, keys }) => ({ slug, title, keys }));
// `defaultPrompts`: each notebook's default prompt, chosen by bench/choose-prompts.ts from what the default model continues best.
const defaultPrompts: Readonly<Record<string, string>> = chosenPrompts.prompts;
const host = { builtins: { viz, d3, urlState: { ...urlState, notebooks: linkable }, heldout, mixtral, defaultPrompts }, definitions: { mixscope: modelStream(client) } };

let dispose: (() => void) | null = null;
let shownPath: string | null = null;
/** Counts routes, so a notebook that finishes loading after a later route began knows it is stale. */
let routed = 0;

async function route(): Promise<void> {
  const { path } = currentRoute();
  if (path === shownPath) return;
  shownPath = path;
  const thisRoute = ++routed;
  dispose?.();
  dispose = null;
  main.replaceChildren();
  if (!path) { renderIndex(main, notebooks); document.title = 'Mixscope'; return; }
  const disposeThis = await renderNotebookPage(main, notebooks, path, host);
  // A notebook still loading when the address moved on was taken off the page meanwhile: stop
  // its cells rather than leave them running, unseen, measuring a detached page.
  if (thisRoute !== routed) disposeThis();
  else dispose = disposeThis;
}

window.addEventListener('hashchange', () => {
  // Typing `?backend=cpu` into the address of an open page changes only the hash: start again
  // on that engine rather than ignore it.
  const asked = askedBackend();
  if (asked !== 'auto' && asked !== backend) { location.reload(); return; }
  void route();
});
void route();
client.load({ kind: 'url', base: DEFAULT_MODEL }, backend).catch(() => { /* shown in the header */ });

// For tests and the curious: the client and the address state on the console.
(window as unknown as { mixscopeClient: MixscopeClient }).mixscopeClient = client;
(window as unknown as { mixscopeUrlState: unknown }).mixscopeUrlState = host.builtins.urlState;

// "Open your own model": a Hugging Face MoE checkpoint (Mixtral, OLMoE, Qwen-MoE, Qwen3-MoE,
// Granite-MoE) from a folder, from files, or from a URL base. The model in use stays until a new
// one is ready: a load that fails shows its error in one line (the whole message on demand), and
// a load can be stopped, or replaced by another (any of the choices here, "Back to the default
// model" included), while it runs. The weights' format (f32, f16, q8, q4, or this device's
// default) applies to every load started here; "Back to the default model" loads it as it ships.
import type { ModelSource, WeightChoice } from './api/protocol.ts';
import type { LoadPlan } from './api/load-plan.ts';
import { createHubSection } from './open-hub.ts';
import { createStoredList } from './stored-models.ts';
import { createCatalog } from './model-catalog.ts';
import { createErrorLine } from './header.ts';

export function createOpenModelDialog(
  load: (source: ModelSource, weights?: WeightChoice) => Promise<unknown>, defaultBase: string, cancel: () => void = () => {},
  inspect: (source: ModelSource, weights?: WeightChoice) => Promise<LoadPlan> = () => Promise.reject(new Error('sizing a Hub model is not available here')),
): { node: HTMLDialogElement; open(): void } {
  const dialog = document.createElement('dialog');
  dialog.className = 'open-model';
  const title = document.createElement('h2');
  title.textContent = 'Open your own model';
  const hint = document.createElement('p');
  hint.textContent = 'A Hugging Face Mixtral, OLMoE, Qwen-MoE, Qwen3-MoE or Granite-MoE checkpoint: config.json, model.safetensors (or model.safetensors.index.json and its shards) and tokenizer.json. Nothing is uploaded: the files are read in this browser.';
  const weights = weightSelect();
  const folder = fileInput('Choose a folder', true);
  const files = fileInput('Choose files', false);
  const urlRow = document.createElement('form');
  urlRow.className = 'open-model-url';
  const url = document.createElement('input');
  url.type = 'url';
  url.placeholder = 'https://example.org/my-mixtral/ (folder URL with config.json)';
  url.required = true;
  const go = document.createElement('button');
  go.type = 'submit';
  go.textContent = 'Load URL';
  urlRow.append(url, go);
  const status = document.createElement('p');
  status.className = 'open-model-status';
  status.setAttribute('role', 'status');
  const error = createErrorLine('open-model-status error');
  error.set('');
  const actions = document.createElement('div');
  actions.className = 'open-model-actions';
  const stop = document.createElement('button');
  stop.type = 'button';
  stop.className = 'open-model-stop';
  stop.textContent = 'Stop loading';
  stop.hidden = true;
  const reset = document.createElement('button');
  reset.type = 'button';
  reset.textContent = 'Back to the default model';
  const close = document.createElement('button');
  close.type = 'button';
  close.textContent = 'Close';
  actions.append(stop, reset, close);
  // A Hub load speaks in its own section; the dialog's Stop loading stops it too.
  let hubLoads = 0;
  const hubLoad = async (source: ModelSource) => {
    hubLoads++;
    runs++; // an earlier load here is replaced: it stays quiet
    stop.hidden = false;
    try { return await load(source, weights.value()); } finally { if (--hubLoads === 0) stop.hidden = true; }
  };
  const hub = createHubSection({ inspect: (source) => inspect(source, weights.value()), load: hubLoad }, () => { void stored.refresh(); dialog.close(); });
  weights.select.addEventListener('change', () => hub.recheck());
  const stored = createStoredList((model, endpoint) => hub.choose(model, endpoint));
  const catalog = createCatalog((repo) => hub.choose(repo));
  dialog.append(title, hint, weights.label, folder.label, files.label, urlRow, status, error.node, hub.node, catalog, stored.node, actions);

  /** Counts loads started here: only the latest one speaks in the dialog. */
  let runs = 0;
  const show = (text: string, failure = '') => {
    status.textContent = text;
    status.hidden = !text;
    error.set(failure);
  };
  async function run(source: ModelSource, chosen: WeightChoice | undefined = weights.value()): Promise<void> {
    const mine = ++runs;
    show('Loading… (the model in use stays until this one is ready)');
    stop.hidden = false;
    try {
      await load(source, chosen);
      if (mine !== runs) return;
      show('');
      dialog.close();
    } catch (e) {
      if (mine !== runs) return; // replaced by a later choice, which speaks for itself
      const err = e as Error;
      if (err.name === 'AbortError') show('Loading stopped: the model in use stays.');
      else show('', `${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}`);
    } finally {
      if (mine === runs) stop.hidden = true;
    }
  }
  const pick = (input: HTMLInputElement) => () => {
    const list = [...(input.files ?? [])];
    input.value = '';
    if (!list.length) return;
    const missing = missingFiles(list.map((f) => f.name));
    if (missing) { status.className = 'open-model-status error'; status.textContent = missing; return; }
    void run({ kind: 'files', files: list });
  };
  folder.input.addEventListener('change', pick(folder.input));
  files.input.addEventListener('change', pick(files.input));
  urlRow.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const base = url.value.trim();
    void run({ kind: 'url', base: base.endsWith('/') ? base : `${base}/` });
  });
  stop.addEventListener('click', () => cancel());
  reset.addEventListener('click', () => void run({ kind: 'url', base: defaultBase }, undefined));
  // Closing leaves a load running: the header shows its progress, and its Stop cancels it.
  close.addEventListener('click', () => dialog.close());
  return { node: dialog, open: () => { if (stop.hidden) { show(''); hub.reset(); } void stored.refresh(); dialog.showModal(); } };
}

/** The weights' format for the loads started here: this device's default, or one chosen. */
function weightSelect(): { label: HTMLLabelElement; select: HTMLSelectElement; value(): WeightChoice } {
  const label = document.createElement('label');
  label.className = 'open-model-weights';
  const s = document.createElement('span');
  s.textContent = 'Weights in memory';
  const select = document.createElement('select');
  select.name = 'weights';
  for (const [value, text] of [
    ['auto', 'Automatic: f16 where it fits, else q8, else q4'],
    ['f32', 'f32: exact, 4 bytes a weight'],
    ['f16', 'f16: 2 bytes (exact for F16 files)'],
    ['q8', 'q8: 8-bit, 1.06 bytes'],
    ['q4', 'q4: 4-bit, 0.63 bytes'],
  ] as const) {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = text;
    select.append(o);
  }
  label.append(s, select);
  return { label, select, value: () => select.value as WeightChoice };
}

function fileInput(text: string, directory: boolean): { label: HTMLLabelElement; input: HTMLInputElement } {
  const label = document.createElement('label');
  label.className = 'open-model-pick';
  const input = document.createElement('input');
  input.type = 'file';
  input.multiple = true;
  if (directory) input.setAttribute('webkitdirectory', '');
  const s = document.createElement('span');
  s.textContent = text;
  label.append(s, input);
  return { label, input };
}

/** What a set of chosen files lacks to be a checkpoint, in one sentence (null: nothing). */
export function missingFiles(names: readonly string[]): string | null {
  const has = (n: string) => names.includes(n);
  const weights = names.some((n) => n.endsWith('.safetensors')) || has('model.safetensors.index.json');
  const lacking = [has('config.json') ? null : 'config.json', weights ? null : 'the weights (model.safetensors, or model.safetensors.index.json and its shards)'].filter(Boolean);
  if (!lacking.length) return null;
  return `The ${names.length === 1 ? `file chosen (${names[0]}) is` : `${names.length} files chosen are`} not a whole checkpoint: choose ${lacking.join(' and ')} too, with tokenizer.json, all at once (or the folder that holds them).`;
}

// "Open your own model": a Hugging Face Mixtral checkpoint from a folder, from files, or from a
// URL base. Errors are shown in the dialog; the model in use stays until a new one is ready.
import type { ModelSource } from './api/protocol.ts';
import type { LoadPlan } from './api/load-plan.ts';
import { createHubSection } from './open-hub.ts';
import { createStoredList } from './stored-models.ts';
import { createCatalog } from './model-catalog.ts';

export function createOpenModelDialog(load: (source: ModelSource) => Promise<unknown>, defaultBase: string,
  inspect: (source: ModelSource) => Promise<LoadPlan>): { node: HTMLDialogElement; open(): void } {
  const dialog = document.createElement('dialog');
  dialog.className = 'open-model';
  const title = document.createElement('h2');
  title.textContent = 'Open your own model';
  const hint = document.createElement('p');
  hint.textContent = 'A Hugging Face Mixtral checkpoint: config.json, model.safetensors (or model.safetensors.index.json and its shards) and tokenizer.json. Nothing is uploaded: the files are read in this browser.';
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
  const actions = document.createElement('div');
  actions.className = 'open-model-actions';
  const reset = document.createElement('button');
  reset.type = 'button';
  reset.textContent = 'Back to the default model';
  const close = document.createElement('button');
  close.type = 'button';
  close.textContent = 'Close';
  actions.append(reset, close);
  const hub = createHubSection({ inspect, load }, () => { void stored.refresh(); dialog.close(); });
  const stored = createStoredList((model, endpoint) => hub.choose(model, endpoint));
  const catalog = createCatalog((repo) => hub.choose(repo));
  dialog.append(title, hint, folder.label, files.label, urlRow, status, hub.node, catalog, stored.node, actions);

  async function run(source: ModelSource): Promise<void> {
    status.className = 'open-model-status';
    status.textContent = 'Loading…';
    try {
      await load(source);
      status.textContent = '';
      dialog.close();
    } catch (e) {
      status.className = 'open-model-status error';
      status.textContent = (e as Error).message;
    }
  }
  const pick = (input: HTMLInputElement) => () => {
    const list = [...(input.files ?? [])];
    input.value = '';
    if (list.length) void run({ kind: 'files', files: list });
  };
  folder.input.addEventListener('change', pick(folder.input));
  files.input.addEventListener('change', pick(files.input));
  urlRow.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const base = url.value.trim();
    void run({ kind: 'url', base: base.endsWith('/') ? base : `${base}/` });
  });
  reset.addEventListener('click', () => void run({ kind: 'url', base: defaultBase }));
  close.addEventListener('click', () => dialog.close());
  return { node: dialog, open: () => { status.textContent = ''; hub.reset(); void stored.refresh(); dialog.showModal(); } };
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

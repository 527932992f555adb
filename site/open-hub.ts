// "Open from the Hugging Face Hub", a section of the open dialog: a model id, a revision, a token
// for gated or private models and (folded away) the endpoint. It first asks what opening would
// take (files, download size, the weights' memory on this page's engine, whether this adapter can
// hold them) and shows it; only then does a button download and open. Errors say what to do.
import type { ModelSource } from './api/protocol.ts';
import type { LoadPlan } from './api/load-plan.ts';
import { DEFAULT_ENDPOINT, repoPageUrl } from '../engine/hub/urls.ts';
import { formatRepoRef, parseRepoRef } from '../engine/hub/repo-ref.ts';
import { formatBytes } from '../engine/footprint/footprint.ts';
import { formatCount } from './header.ts';
import './open-hub.css';

export interface HubActions {
  inspect(source: ModelSource): Promise<LoadPlan>;
  load(source: ModelSource): Promise<unknown>;
}

export interface HubSection {
  node: HTMLElement;
  /** Fill the form with a model id (a stored model's or the catalog's) and check it. */
  choose(model: string, endpoint?: string): void;
  /** Check again what is shown (the weights' format changed). */
  recheck(): void;
  reset(): void;
}

export function createHubSection(actions: HubActions, onOpened: () => void): HubSection {
  const node = document.createElement('section');
  node.className = 'open-hub';
  const title = document.createElement('h3');
  title.textContent = 'Open from the Hugging Face Hub';
  const form = document.createElement('form');
  form.className = 'open-hub-form';
  const model = field(form, 'Model', 'text', 'org/name, e.g. mistralai/Mixtral-8x7B-v0.1', 'open-hub-model');
  model.input.required = true;
  model.input.spellcheck = false;
  const revision = field(form, 'Revision', 'text', 'main (a branch, tag or commit)', 'open-hub-revision');
  revision.input.spellcheck = false;
  const token = field(form, 'Access token', 'password', 'only for gated or private models', 'open-hub-token');
  token.input.autocomplete = 'off';
  const more = document.createElement('details');
  more.className = 'open-hub-more';
  const summary = document.createElement('summary');
  summary.textContent = 'Hub endpoint';
  const endpoint = field(more, 'Endpoint (a mirror, as HF_ENDPOINT)', 'url', DEFAULT_ENDPOINT, 'open-hub-endpoint');
  endpoint.input.value = DEFAULT_ENDPOINT;
  more.prepend(summary);
  const check = document.createElement('button');
  check.type = 'submit';
  check.className = 'open-hub-check';
  check.textContent = 'Check size';
  const note = document.createElement('p');
  note.className = 'open-hub-note';
  note.textContent = 'The token stays in this tab (sent only to the Hub). Files are kept in this browser, so a second open downloads nothing.';
  form.append(more, check);
  const result = document.createElement('div');
  result.className = 'open-hub-result';
  result.setAttribute('role', 'status');
  node.append(title, form, note, result);

  /** What the form asks for, or an error in the result area. */
  const source = (): ModelSource | null => {
    const id = model.input.value.trim();
    const rev = revision.input.value.trim();
    try {
      const asked = parseRepoRef(id);
      const ref = rev ? parseRepoRef(`${asked.repo}@${rev}`) : asked;
      return { kind: 'hub', model: formatRepoRef(ref), endpoint: endpoint.input.value.trim() || undefined, token: token.input.value.trim() || undefined };
    } catch (e) {
      showError((e as Error).message);
      return null;
    }
  };
  const showError = (message: string) => {
    result.className = 'open-hub-result error';
    result.replaceChildren(message);
  };
  let checking = 0;

  async function checkSize(): Promise<void> {
    const src = source();
    if (!src || src.kind !== 'hub') return;
    const mine = ++checking;
    result.className = 'open-hub-result';
    result.replaceChildren(`Asking ${src.endpoint ?? DEFAULT_ENDPOINT} about ${src.model}…`);
    try {
      const plan = await actions.inspect(src);
      if (mine === checking) showPlan(src, plan);
    } catch (e) {
      if (mine === checking) showError(hubErrorText(e as Error & { code?: string }, src));
    }
  }

  function showPlan(src: Extract<ModelSource, { kind: 'hub' }>, plan: LoadPlan): void {
    const { inspection: ins, device } = plan;
    result.className = 'open-hub-result';
    const rows: [string, string][] = [
      ['Model', `${src.model} · ${ins.modelType} · ${formatCount(ins.parameters.total)} parameters (${formatCount(ins.parameters.activePerToken)} active per token)`],
      ['Files', ins.files.map((f) => `${f.name} ${f.bytes === undefined ? '(size unknown)' : formatBytes(f.bytes)}`).join(', ')],
      ['Download', downloadText(plan)],
      ['Weights here', device.backend === 'webgpu'
        ? `${formatBytes(device.footprint.bytes)} on the GPU in ${device.format} (stored ${ins.storedDtype}); largest buffer ${formatBytes(device.footprint.largest.bytes)}, this adapter binds up to ${formatBytes(device.fit!.limit)}`
        : `${formatBytes(device.footprint.bytes)} in memory on the CPU engine (${device.format}; stored ${ins.storedDtype})`],
      ['By format', plan.choices.map((c) => `${c.format} ${formatBytes(c.bytes)}${c.fits ? '' : ' (does not fit)'}${c.format === plan.format ? ' ← this load' : ''}`).join(' · ')],
    ];
    const table = document.createElement('dl');
    table.className = 'open-hub-plan';
    for (const [k, v] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      table.append(dt, dd);
    }
    result.replaceChildren(table);
    if (plan.refusal) {
      const refuse = document.createElement('p');
      refuse.className = 'open-hub-refusal error';
      refuse.textContent = `Not opened: ${plan.refusal}.`;
      result.append(refuse);
      return;
    }
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'open-hub-open';
    const toFetch = plan.inspection.downloadBytes - plan.storedBytes;
    open.textContent = toFetch <= 0 ? 'Open from this browser' : `Download ${formatBytes(toFetch)} and open`;
    const progress = document.createElement('span');
    progress.className = 'open-hub-progress';
    open.addEventListener('click', async () => {
      open.disabled = true;
      progress.textContent = 'Loading… (progress in the header)';
      try {
        await actions.load(src);
        progress.textContent = '';
        onOpened();
      } catch (e) {
        // Stopped, or replaced by another choice: the model in use stays, and this one can be opened again.
        if ((e as Error).name === 'AbortError') { progress.textContent = 'Loading stopped: the model in use stays.'; open.disabled = false; }
        else showError(hubErrorText(e as Error & { code?: string }, src));
      }
    });
    result.append(open, progress);
  }

  form.addEventListener('submit', (ev) => { ev.preventDefault(); void checkSize(); });
  return {
    node,
    choose(id, hub) {
      if (hub) endpoint.input.value = hub;
      const at = id.indexOf('@');
      model.input.value = at < 0 ? id : id.slice(0, at);
      revision.input.value = at < 0 ? '' : id.slice(at + 1);
      void checkSize();
    },
    recheck() { if (result.childElementCount) void checkSize(); },
    reset() { checking++; result.replaceChildren(); result.className = 'open-hub-result'; },
  };
}

function downloadText(plan: LoadPlan): string {
  const total = plan.inspection.downloadBytes;
  const unknown = plan.inspection.complete ? '' : ' (some sizes unknown)';
  if (plan.storedBytes >= total && total > 0) return `nothing: all ${formatBytes(total)} are stored in this browser`;
  if (plan.storedBytes > 0) return `${formatBytes(total - plan.storedBytes)} of ${formatBytes(total)}${unknown} (the rest is stored in this browser)`;
  return `${formatBytes(total)}${unknown}`;
}

/** The site's words for a Hub error (engine/hub/errors.ts codes): what happened and what to do here. */
export function hubErrorText(e: Error & { code?: string }, src: Extract<ModelSource, { kind: 'hub' }>): string {
  const endpoint = src.endpoint ?? DEFAULT_ENDPOINT;
  const repo = src.model.split('@')[0];
  let page = endpoint;
  try { page = repoPageUrl(endpoint, repo); } catch { /* a bad endpoint: its own error below */ }
  const withToken = !!src.token;
  switch (e.code) {
    case 'gated':
      return withToken
        ? `${repo} is a gated model and this token has no access yet: accept its conditions at ${page} with the account the token belongs to.`
        : `${repo} is a gated model: accept its conditions at ${page}, then paste an access token (${endpoint}/settings/tokens) in the field above.`;
    case 'unauthorized':
      return withToken ? `The Hub refused this access token: check it (${endpoint}/settings/tokens).` : `${repo} needs an access token: paste one in the field above.`;
    case 'forbidden':
      return withToken ? `Access to ${repo} is forbidden: check that the token has read access.` : `Access to ${repo} is forbidden: if it is private or gated, paste an access token above.`;
    case 'repo-not-found':
      return `No model ${repo} on ${endpoint}${withToken ? ', or this token cannot read it' : '; if it is private, paste an access token above'}.`;
    case 'revision-not-found':
      return `${repo} has no revision "${src.model.split('@')[1] ?? 'main'}" (no such branch, tag or commit).`;
    case 'network':
      return `Cannot reach ${endpoint}: check the connection (or the endpoint). ${e.message}`;
    case 'bad-endpoint':
    case 'bad-repo-id':
      return e.message;
    default:
      return `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}`;
  }
}

function field(parent: HTMLElement, label: string, type: string, placeholder: string, cls: string): { label: HTMLLabelElement; input: HTMLInputElement } {
  const l = document.createElement('label');
  l.className = `open-hub-field ${cls}`;
  const s = document.createElement('span');
  s.textContent = label;
  const input = document.createElement('input');
  input.type = type;
  input.placeholder = placeholder;
  input.name = cls;
  l.append(s, input);
  parent.append(l);
  return { label: l, input };
}

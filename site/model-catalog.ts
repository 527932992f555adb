// "Known MoE checkpoints": real models on the Hub, with total and active parameters, the size of
// their published files and the memory their weights take in each format, all computed from the
// configs the project ships (models/configs/, sources in its README). "Use" fills the Hub form.
// The counts are the engine's own (params.ts countParameters, by docs/families.md's rule), read
// through engine/footprint/moe-tensors.ts.
import mixtral8x7b from '../models/configs/mixtral-8x7b-v0.1.json';
import mixtral8x22b from '../models/configs/mixtral-8x22b-v0.1.json';
import olmoe from '../models/configs/olmoe-1b-7b-0924.json';
import qwen15 from '../models/configs/qwen1.5-moe-a2.7b-chat.json';
import qwen3 from '../models/configs/qwen3-30b-a3b.json';
import granite from '../models/configs/granite-3.1-1b-a400m.json';
import { countTableParameters, moeTensorTable } from '../engine/footprint/moe-tensors.ts';
import { formatBytes, weightFootprint } from '../engine/footprint/footprint.ts';
import type { WeightFormat } from '../engine/footprint/formats.ts';
import { formatCount } from './header.ts';

export interface CatalogEntry {
  name: string;
  /** The Hub repository. */
  repo: string;
  config: Record<string, unknown>;
}

/** Smallest first: what a laptop's browser can hold comes first. */
export const CATALOG: CatalogEntry[] = [
  { name: 'Granite 3.1 1B-A400M', repo: 'ibm-granite/granite-3.1-1b-a400m-instruct', config: granite },
  { name: 'OLMoE 1B-7B', repo: 'allenai/OLMoE-1B-7B-0924', config: olmoe },
  { name: 'Qwen1.5-MoE-A2.7B', repo: 'Qwen/Qwen1.5-MoE-A2.7B-Chat', config: qwen15 },
  { name: 'Qwen3-30B-A3B', repo: 'Qwen/Qwen3-30B-A3B', config: qwen3 },
  { name: 'Mixtral 8x7B', repo: 'mistralai/Mixtral-8x7B-v0.1', config: mixtral8x7b },
  { name: 'Mixtral 8x22B', repo: 'mistralai/Mixtral-8x22B-v0.1', config: mixtral8x22b },
];

const SHOWN: WeightFormat[] = ['f16', 'q8', 'q4'];

/** One row's numbers: parameters, the published files' size (16-bit weights), memory per format. */
export function catalogRow(e: CatalogEntry) {
  const table = moeTensorTable(e.config);
  const p = countTableParameters(table);
  return {
    ...p,
    modelType: table.modelType,
    fileBytes: 2 * p.total,
    memory: Object.fromEntries(SHOWN.map((f) => [f, weightFootprint(table, f).bytes])) as Record<WeightFormat, number>,
  };
}

export function createCatalog(use: (repo: string) => void): HTMLElement {
  const node = document.createElement('section');
  node.className = 'open-hub-catalog';
  const title = document.createElement('h3');
  title.textContent = 'Known MoE checkpoints';
  const note = document.createElement('p');
  note.textContent = 'Computed from each model\'s config.json: parameters (active: what one token uses), the size of its 16-bit files, and the memory its weights take in each format. Some are gated on the Hub: they need an access token.';
  const wrap = document.createElement('div');
  wrap.className = 'open-hub-catalog-wrap';
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const h of ['model', 'parameters (active)', 'files', ...SHOWN, '']) {
    const th = document.createElement('th');
    th.textContent = h;
    head.append(th);
  }
  const body = table.createTBody();
  for (const e of CATALOG) {
    const r = catalogRow(e);
    const tr = body.insertRow();
    tr.dataset.repo = e.repo;
    const name = tr.insertCell();
    const strong = document.createElement('strong');
    strong.textContent = e.name;
    const repo = document.createElement('div');
    repo.className = 'open-hub-catalog-repo';
    repo.textContent = e.repo;
    name.append(strong, repo);
    for (const v of [`${formatCount(r.total)} (${formatCount(r.activePerToken)})`, formatBytes(r.fileBytes), ...SHOWN.map((f) => formatBytes(r.memory[f]))]) {
      tr.insertCell().textContent = v;
    }
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = 'Use';
    b.addEventListener('click', () => use(e.repo));
    tr.insertCell().append(b);
  }
  wrap.append(table);
  node.append(title, note, wrap);
  return node;
}

// The default model's routing history (training/data/routing-history/, written by
// training/routing_history.py): the held-out sets' top-k routing and loss at each milestone
// checkpoint of its training run, and the previous default model's held-out losses. Fetched the
// first time a cell asks (the checkpoint files are assets of their own, 72 KiB each), checked
// by engine/analysis/routing-history.ts.
import { readRoutingHistory, type RoutingHistory } from '../../engine/analysis/routing-history.ts';

const DIR = '../../training/data/routing-history/';
const indexJson = import.meta.glob<unknown>('../../training/data/routing-history/index.json', { import: 'default' });
const previousJson = import.meta.glob<{ heldout_loss: Record<string, number> }>('../../training/data/routing-history/previous-model.json', { import: 'default' });
const binUrls = import.meta.glob<string>('../../training/data/routing-history/*.bin', { query: '?url', import: 'default' });

export interface TrainingHistory extends RoutingHistory {
  /** The previous default model's held-out loss per domain (nats/token), measured as the checkpoints' are. */
  previousLoss: Record<string, number>;
}

let loading: Promise<TrainingHistory> | null = null;

async function load(): Promise<TrainingHistory> {
  const loadIndex = indexJson[`${DIR}index.json`];
  if (!loadIndex) throw new Error('no training/data/routing-history/index.json in this build: run training/routing_history.py');
  const index = await loadIndex();
  const names = ((index as { checkpoints?: { file?: string }[] }).checkpoints ?? []).map((c) => String(c.file));
  const bytes = new Map<string, Uint8Array>();
  await Promise.all(names.map(async (name) => {
    const url = binUrls[`${DIR}${name}`];
    if (!url) throw new Error(`routing history: index.json names ${name}, which is not in training/data/routing-history/`);
    const res = await fetch(await url());
    if (!res.ok) throw new Error(`routing history: ${name}: HTTP ${res.status}`);
    bytes.set(name, new Uint8Array(await res.arrayBuffer()));
  }));
  const history = readRoutingHistory(index, (name) => bytes.get(name)!);
  const loadPrevious = previousJson[`${DIR}previous-model.json`];
  const previous = loadPrevious ? await loadPrevious() : { heldout_loss: {} };
  return { ...history, previousLoss: previous.heldout_loss };
}

/** The history, loaded once per page. */
export function routingHistory(): Promise<TrainingHistory> {
  loading ??= load().catch((e) => { loading = null; throw e; });
  return loading;
}

// The default model's held-out texts (training/data/heldout/<domain>.txt: documents of each
// training domain that the model never saw), for notebooks that measure routing and loss per
// domain. Each file is its own chunk, fetched the first time a cell asks for it, so the site
// stays offline-capable and pages that do not use them do not pay for them.
import { routingHistory, type TrainingHistory } from './routing-history.ts';

const files = import.meta.glob<string>('../../training/data/heldout/*.txt', { query: '?raw', import: 'default' });

const byDomain = new Map(Object.entries(files).map(([file, load]) => [file.replace(/^.*\/|\.txt$/g, ''), load]));

export interface HeldOut {
  /** Domain names: c, english, german, manpages, math, python. */
  domains: string[];
  /** The whole held-out text of a domain. */
  text(domain: string): Promise<string>;
  /** A domain's name for readers ("man pages" for manpages, "arithmetic" for math); unknown ones as given. */
  label(domain: string): string;
  /**
   * The default model's routing history: the held-out sets' top-k routing and loss at each
   * milestone of its training run (training/data/routing-history/), and the previous model's losses.
   */
  routingHistory(): Promise<TrainingHistory>;
}

const LABELS: Record<string, string> = { c: 'C', english: 'English', german: 'German', manpages: 'man pages', math: 'arithmetic', python: 'Python' };

export const heldout: HeldOut = {
  domains: [...byDomain.keys()].sort(),
  async text(domain) {
    const load = byDomain.get(domain);
    if (!load) throw new Error(`no held-out text for "${domain}"; the domains are ${[...byDomain.keys()].sort().join(', ')}`);
    return load();
  },
  label: (domain) => LABELS[domain] ?? domain,
  routingHistory,
};

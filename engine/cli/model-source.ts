// Where the CLI's --model comes from: a directory on disk, or, when the value is no directory and
// reads as "org/name[@revision]", the Hugging Face Hub through its cache on disk (HF_ENDPOINT,
// HF_HUB_CACHE, HF_TOKEN or --token, HF_HUB_OFFLINE). Download progress goes to stderr, one line
// per file (redrawn in place on a terminal): stdout stays one line of JSON.
import { statSync } from 'node:fs';
import type { CheckpointSource } from '../checkpoint/index.ts';
import { directorySource } from '../node.ts';
import { hubCacheSource } from '../hub/node-source.ts';
import { looksLikeRepoRef, formatRepoRef, parseRepoRef } from '../hub/repo-ref.ts';
import { HubError } from '../hub/errors.ts';
import type { HubFileProgress } from '../hub/source.ts';

const isDirectory = (p: string) => { try { return statSync(p).isDirectory(); } catch { return false; } };

/** True when `model` is read from disk rather than from the Hub. */
export const isModelDirectory = (model: string): boolean => isDirectory(model) || !looksLikeRepoRef(model);

/** 664 B, 110.0 KiB, 21.7 MiB, 86.9 GiB. */
function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) { n /= 1024; u++; }
  return u === 0 ? `${n} B` : `${n.toFixed(1)} ${units[u]}`;
}

/** Per-file progress on stderr: a line when a file is found cached or done, a redrawn line while it arrives on a terminal. */
function progressPrinter(model: string, err: NodeJS.WriteStream = process.stderr) {
  const tty = err.isTTY === true;
  let lastDraw = 0;
  return (p: HubFileProgress) => {
    const total = p.bytesTotal ?? p.bytesDone;
    if (p.state === 'cached') { err.write(`${model}: ${p.file} (${bytes(total)}) from the cache\n`); return; }
    if (p.state === 'done') { err.write(`${tty ? '\r\x1b[K' : ''}${model}: ${p.file} (${bytes(total)}) downloaded\n`); return; }
    if (p.bytesDone === (p.resumedFrom ?? 0)) {
      // The first event of a download: say where it starts, once.
      const from = p.resumedFrom ? `, resuming at ${bytes(p.resumedFrom)}` : '';
      if (!tty) err.write(`${model}: downloading ${p.file} (${bytes(total)}${from})\n`);
    }
    const now = Date.now();
    if (tty && now - lastDraw > 100) {
      lastDraw = now;
      const pct = total ? Math.floor((100 * p.bytesDone) / total) : 0;
      err.write(`\r\x1b[K${model}: ${p.file} ${bytes(p.bytesDone)} / ${bytes(total)} (${pct}%)`);
    }
  };
}

/** The source `model` names: a directory, or a Hub model through the cache (progress on stderr). */
export function cliSource(model: string, token: string | undefined): CheckpointSource {
  if (isModelDirectory(model)) return directorySource(model);
  const ref = parseRepoRef(model);
  return hubCacheSource(ref, { token, onFile: progressPrinter(formatRepoRef(ref)) });
}

/**
 * Load (with `load`) the checkpoint `model` names: a directory, or a Hub model id. `token` (--token) overrides
 * HF_TOKEN. A value that is neither an existing directory nor a model id is reported as a missing
 * directory.
 */
export async function loadCliModel<R>(model: string, token: string | undefined, load: (source: CheckpointSource) => Promise<R>): Promise<R> {
  const source = cliSource(model, token);
  if (isModelDirectory(model)) return load(source);
  try {
    return await load(source);
  } catch (e) {
    // "models/foo" may be a mistyped directory as much as a Hub id: say both.
    if (e instanceof HubError && e.code === 'repo-not-found') {
      const { repo, revision, file, url, status } = e;
      throw new HubError(e.code, `"${model}" is not a directory here, and ${e.message}`, { repo, revision, file, url, status }, { cause: e });
    }
    throw e;
  }
}

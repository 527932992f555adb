// A checkpoint on the Hugging Face Hub, read through the Hub's cache on disk (./node-cache.ts):
// each file the loader asks for is found in the cache or downloaded into it first, then read
// from disk, so sharded indexes, progress and errors work as for a directory.
//
// When the cache already has the revision (refs/{revision}, or the commit's snapshot), files are
// answered from it with no request at all; a file the snapshot lacks is asked of the Hub only if
// the cache does not already know it is absent (.no_exist, a tree listing, or the weights stored
// in the other layout: one model.safetensors or an index and its shards). A cached branch is not
// re-checked for new commits: ask for a commit (`org/name@<hash>`) to move on.
// Node-only.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { CheckpointError } from '../errors.ts';
import { INDEX_FILE, SINGLE_FILE } from '../checkpoint/load.ts';
import { HubError } from './errors.ts';
import { RepoCache } from './node-cache.ts';
import { downloadBlob, headResolve, type HubHttp } from './node-download.ts';
import { hubSettings, type Env, type HubSettings } from './node-settings.ts';
import { formatRepoRef, parseRepoRef, type RepoRef } from './repo-ref.ts';
import { failure, fileMetadata, type HubFileMetadata } from './responses.ts';
import type { HubCheckpointSource, HubFileProgress } from './source.ts';
import { resolveUrl } from './urls.ts';

export interface HubCacheSourceOptions extends Partial<HubSettings> {
  /** Where the settings not given here come from (default process.env): HF_ENDPOINT, HF_HUB_CACHE, ... */
  env?: Env;
  fetch?: typeof fetch;
  /** Hears of each file: 'cached' when it is already there, else per chunk while downloading and 'done'. */
  onFile?: (p: HubFileProgress) => void;
  signal?: AbortSignal;
  /** Resumptions after a cut connection within one call (default 3); then 'interrupted'. */
  retries?: number;
}

export interface HubCacheSource extends HubCheckpointSource {
  readonly settings: HubSettings;
  readonly cache: RepoCache;
  /** snapshots/{commit}, once the commit is known. */
  snapshotDir(): string | undefined;
}

type Located =
  | { kind: 'cached'; path: string }
  | { kind: 'absent' }
  | { kind: 'remote'; meta: HubFileMetadata; url: string };

const SETTINGS = ['endpoint', 'cacheDir', 'token', 'offline', 'etagTimeoutMs', 'downloadTimeoutMs'] as const satisfies readonly (keyof HubSettings)[];

/** The weights are one file or an index with shards: a snapshot holding one has no use for the other. */
const OTHER_LAYOUT: Record<string, string> = { [SINGLE_FILE]: INDEX_FILE, [INDEX_FILE]: SINGLE_FILE };

export function hubCacheSource(model: RepoRef | string, options: HubCacheSourceOptions = {}): HubCacheSource {
  const ref = typeof model === 'string' ? parseRepoRef(model) : model;
  const settings = hubSettings(options.env ?? process.env);
  for (const k of SETTINGS) if (options[k] !== undefined) (settings as unknown as Record<string, unknown>)[k] = options[k];
  const http: HubHttp = { ...settings, fetch: options.fetch ?? ((...a) => fetch(...a)), signal: options.signal };
  const cache = new RepoCache(settings.cacheDir, ref.repo);
  const onFile = options.onFile ?? (() => {});
  const label = `${formatRepoRef(ref)} (${settings.offline ? `offline: the cache in ${cache.dir}` : settings.endpoint})`;

  let commit: string | undefined;
  let local: Promise<void> | undefined;
  const resolveLocal = () => (local ??= cache.localCommit(ref.revision).then((c) => { commit ??= c; }));
  const pin = async (c: string) => {
    if (commit) return;
    commit = c;
    await cache.writeRef(ref.revision, c);
  };

  /** Ask the Hub about `file` (HEAD, no CDN redirect followed). */
  const ask = async (file: string): Promise<Located> => {
    const asked = resolveUrl(settings.endpoint, { repo: ref.repo, revision: commit ?? ref.revision }, file);
    const { response: r, url } = await headResolve(asked, http, ref, file);
    const code = r.headers.get('x-error-code');
    if (r.status === 404 && (code === null || code === 'EntryNotFound')) {
      const c = r.headers.get('x-repo-commit');
      if (c) { await pin(c); await cache.markAbsent(c, file); }
      return { kind: 'absent' };
    }
    if (r.status >= 400) throw failure(r, { ref, file, url, endpoint: settings.endpoint, tokenSent: !!settings.token });
    const meta = fileMetadata(r, url);
    await pin(meta.commit);
    const p = await cache.cachedFile(meta.commit, file);
    return p ? { kind: 'cached', path: p } : { kind: 'remote', meta, url };
  };

  const locate = async (file: string): Promise<Located> => {
    await resolveLocal();
    if (commit) {
      const p = await cache.cachedFile(commit, file);
      if (p) return { kind: 'cached', path: p };
      if (await cache.knownAbsent(commit, file)) return { kind: 'absent' };
      const other = OTHER_LAYOUT[file];
      if (other && (await cache.cachedFile(commit, other))) return { kind: 'absent' };
    }
    if (settings.offline) {
      if (commit) return { kind: 'absent' };
      throw new HubError('offline', `offline (HF_HUB_OFFLINE) and ${formatRepoRef(ref)} is not in the cache (${cache.dir}); unset HF_HUB_OFFLINE to download it`,
        { repo: ref.repo, revision: ref.revision, file });
    }
    return ask(file);
  };

  const located = new Map<string, Promise<Located>>();
  const where = (file: string) => {
    let p = located.get(file);
    if (!p) { p = locate(file); located.set(file, p); p.catch(() => located.delete(file)); }
    return p;
  };

  /** The file on disk, downloaded first when needed; 'missing-file' when the revision has no such file. */
  const fetched = new Map<string, Promise<string>>();
  const ensure = (file: string) => {
    let p = fetched.get(file);
    if (!p) {
      p = (async () => {
        const at = await where(file);
        if (at.kind === 'absent') throw new CheckpointError('missing-file', file, `not in ${label}`);
        if (at.kind === 'cached') {
          const size = (await stat(at.path)).size;
          onFile({ file, state: 'cached', bytesDone: size, bytesTotal: size });
          return at.path;
        }
        const { meta, url } = at;
        await downloadBlob({ cache, ref, file, meta, resolvedFrom: url, onProgress: onFile, retries: options.retries ?? 3 }, http);
        return cache.link(meta.commit, file, meta.etag);
      })();
      fetched.set(file, p);
      p.catch(() => fetched.delete(file));
    }
    return p;
  };

  return {
    ref,
    label,
    settings,
    cache,
    commit: () => commit,
    snapshotDir: () => (commit ? cache.snapshotDir(commit) : undefined),
    async has(file) { return (await where(file)).kind !== 'absent'; },
    async size(file) {
      const at = await where(file);
      if (at.kind === 'remote') return at.meta.size;
      return at.kind === 'cached' ? (await stat(at.path)).size : undefined;
    },
    async text(file) { return readFile(await ensure(file), 'utf8'); },
    async stream(file) {
      const p = await ensure(file);
      return Readable.toWeb(createReadStream(p, { highWaterMark: 1 << 20 })) as unknown as ReadableStream<Uint8Array>;
    },
  };
}

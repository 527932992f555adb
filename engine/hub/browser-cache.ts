// The browser's cache of Hub models, in Cache Storage (the page and its worker share it, it
// survives reloads, and a stored file is one entry that a failed download never half-writes).
// Each file is stored under its resolve URL at the commit; a snapshot record per (endpoint,
// repo, revision) says which commit the revision meant, which files are stored with their sizes,
// and which files the Hub said are absent. A second open of a stored revision asks the Hub
// nothing, as huggingface_hub's cache does on disk (./node-source.ts). A stored branch is not
// re-checked for new commits: open a commit (`org/name@<hash>`) or clear the entry to move on.
// Browser- and worker-safe; `caches` is passed in so tests and other hosts can give their own.
import { formatRepoRef, parseRepoRef, type RepoRef } from './repo-ref.ts';
import { hubSource, type HubCheckpointSource, type HubSourceOptions } from './source.ts';
import { normalizeEndpoint, quote, resolveUrl } from './urls.ts';

/** The Cache Storage cache that holds every stored Hub file and snapshot record. */
export const HUB_CACHE_NAME = 'mixscope-hub-v1';
/** Snapshot records live under this made-up origin, apart from any real URL. */
const RECORD_ROOT = 'https://mixscope-hub-cache.invalid/snapshot/';

/** What the browser stores of one revision of one model. */
export interface StoredSnapshot {
  endpoint: string;
  repo: string;
  revision: string;
  commit: string;
  /** Stored files and their sizes in bytes. */
  files: Record<string, number>;
  /** Files the Hub said this commit does not have (so they are not asked for again). */
  absent: string[];
  /** Sum of the stored files' sizes. */
  bytes: number;
  /** When a file was last stored (ms since the epoch). */
  updated: number;
}

export interface CachedHubSourceOptions extends HubSourceOptions {
  /** Cache Storage (default: globalThis.caches). */
  caches?: CacheStorage;
}

/** A Hub source backed by the browser's cache. */
export interface CachedHubSource extends HubCheckpointSource {
  /** Whether the revision was found stored when the source was made (resolves once looked up). */
  stored(): Promise<StoredSnapshot | null>;
  /** Resolves when every file read so far is in the cache and the snapshot record says so. */
  settled(): Promise<void>;
}

const recordUrl = (endpoint: string, ref: RepoRef) =>
  `${RECORD_ROOT}${encodeURIComponent(endpoint)}/${ref.repo}/${quote(ref.revision, '')}`;

function parseRecord(text: string): StoredSnapshot | null {
  try {
    const r = JSON.parse(text) as StoredSnapshot;
    return typeof r.commit === 'string' && typeof r.files === 'object' && Array.isArray(r.absent) ? r : null;
  } catch { return null; }
}

async function readRecord(cache: Cache, endpoint: string, ref: RepoRef): Promise<StoredSnapshot | null> {
  const r = await cache.match(recordUrl(endpoint, ref));
  return r ? parseRecord(await r.text()) : null;
}

/**
 * A checkpoint on the Hub read through the browser's cache: files the cache holds are answered
 * from it, the rest fetched (as hubSource does) and stored as they stream by.
 */
export function cachedHubSource(model: RepoRef | string, options: CachedHubSourceOptions = {}): CachedHubSource {
  const ref = typeof model === 'string' ? parseRepoRef(model) : model;
  const endpoint = normalizeEndpoint(options.endpoint);
  const storage = options.caches ?? globalThis.caches;
  const onFile = options.onFile ?? (() => {});
  const opened = storage.open(HUB_CACHE_NAME);
  const found = opened.then((c) => readRecord(c, endpoint, ref));
  // A stored revision pins its commit: the Hub is asked (if at all) about that commit only.
  const net = found.then((rec) => hubSource(rec ? { repo: ref.repo, revision: rec.commit } : ref, { ...options, endpoint }));
  let record: StoredSnapshot | null = null;
  let remote: HubCheckpointSource | undefined;
  const ready = Promise.all([found, net]).then(([r, s]) => { record = r; remote = s; });
  let writes: Promise<void> = Promise.resolve();

  const commit = () => record?.commit ?? remote?.commit();
  /** Change the snapshot record, one change at a time. */
  const update = (change: (r: StoredSnapshot) => void, commitNow: string) => {
    writes = writes.then(async () => {
      const cache = await opened;
      const r: StoredSnapshot = record ?? { endpoint, repo: ref.repo, revision: ref.revision, commit: commitNow, files: {}, absent: [], bytes: 0, updated: 0 };
      change(r);
      r.bytes = Object.values(r.files).reduce((a, b) => a + b, 0);
      r.updated = Date.now();
      record = r;
      await cache.put(recordUrl(endpoint, ref), new Response(JSON.stringify(r), { headers: { 'content-type': 'application/json' } }));
    }).catch(() => { /* a full or unavailable cache costs only the caching */ });
    return writes;
  };
  const fileUrl = (c: string, file: string) => resolveUrl(endpoint, { repo: ref.repo, revision: c }, file);
  const cachedResponse = async (file: string): Promise<Response | undefined> => {
    await ready;
    const c = commit();
    if (!c || record?.files[file] === undefined) return undefined;
    return (await opened).match(fileUrl(c, file));
  };
  /**
   * Store a file as it arrives from the Hub, then say so in the record. Puts run side by side (a
   * stream's put lasts as long as its download); only the record's changes are one at a time.
   */
  const store = (file: string, body: ReadableStream<Uint8Array> | string) => {
    const c = commit();
    if (!c) return body; // not the Hub (no X-Repo-Commit): nothing to key the file by
    let bytes = typeof body === 'string' ? utf8Length(body) : 0;
    let toCache: ReadableStream<Uint8Array> | string = body;
    let toLoader = body;
    if (typeof body !== 'string') {
      // One branch to the loader, one to the cache, counted on its way in.
      const [a, b] = body.tee();
      toLoader = a;
      toCache = b.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ transform(chunk, out) { bytes += chunk.length; out.enqueue(chunk); } }));
    }
    const put = opened.then((cache) => cache.put(fileUrl(c, file), new Response(toCache)))
      .then(() => update((r) => { r.files[file] = bytes; }, c))
      .catch(() => { /* a full or unavailable cache costs only the caching */ });
    pending.add(put);
    void put.finally(() => pending.delete(put));
    return toLoader;
  };
  const pending = new Set<Promise<unknown>>();

  return {
    ref,
    label: `${formatRepoRef(ref)} (${endpoint})`,
    commit: () => commit() ?? undefined,
    stored: () => found,
    async settled() {
      while (pending.size) await Promise.all([...pending]);
      for (let w; w !== writes;) { w = writes; await w; }
    },
    async has(file) {
      await ready;
      if (record && record.files[file] !== undefined) return true;
      if (record?.absent.includes(file)) return false;
      const has = await remote!.has(file);
      const c = commit();
      if (!has && c) await update((r) => { if (!r.absent.includes(file)) r.absent.push(file); }, c);
      return has;
    },
    async size(file) {
      await ready;
      return record?.files[file] ?? remote!.size(file);
    },
    async text(file) {
      const hit = await cachedResponse(file);
      if (hit) {
        const text = await hit.text();
        onFile({ file, state: 'cached', bytesDone: utf8Length(text), bytesTotal: utf8Length(text) });
        return text;
      }
      return store(file, await remote!.text(file)) as string;
    },
    async stream(file) {
      const hit = await cachedResponse(file);
      if (hit?.body) {
        const size = record!.files[file];
        onFile({ file, state: 'cached', bytesDone: size, bytesTotal: size });
        return hit.body;
      }
      return store(file, await remote!.stream(file)) as ReadableStream<Uint8Array>;
    },
  };
}

/** Every revision stored in this browser, newest first. */
export async function listStoredModels(storage: CacheStorage = globalThis.caches): Promise<StoredSnapshot[]> {
  if (!(await storage.has(HUB_CACHE_NAME))) return [];
  const cache = await storage.open(HUB_CACHE_NAME);
  const out: StoredSnapshot[] = [];
  for (const req of await cache.keys()) {
    if (!req.url.startsWith(RECORD_ROOT)) continue;
    const r = await cache.match(req);
    const rec = r ? parseRecord(await r.text()) : null;
    if (rec) out.push(rec);
  }
  return out.sort((a, b) => b.updated - a.updated);
}

/**
 * Remove one stored revision; its files go too unless another stored revision (a tag at the
 * same commit) still lists them.
 */
export async function removeStoredModel(snapshot: Pick<StoredSnapshot, 'endpoint' | 'repo' | 'revision'>, storage: CacheStorage = globalThis.caches): Promise<void> {
  const cache = await storage.open(HUB_CACHE_NAME);
  const ref = { repo: snapshot.repo, revision: snapshot.revision };
  const rec = await readRecord(cache, snapshot.endpoint, ref);
  await cache.delete(recordUrl(snapshot.endpoint, ref));
  if (!rec) return;
  const others = (await listStoredModels(storage)).filter((o) => o.endpoint === rec.endpoint && o.repo === rec.repo && o.commit === rec.commit);
  for (const file of Object.keys(rec.files)) {
    if (others.some((o) => o.files[file] !== undefined)) continue;
    await cache.delete(resolveUrl(rec.endpoint, { repo: rec.repo, revision: rec.commit }, file));
  }
}

/** Remove every stored Hub file. */
export async function clearStoredModels(storage: CacheStorage = globalThis.caches): Promise<void> {
  await storage.delete(HUB_CACHE_NAME);
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

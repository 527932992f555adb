// Talking to the Hub from Node: HEAD on a resolve URL for a file's metadata, redirects to another
// host not followed (huggingface_hub follows only relative ones: a renamed repository), then the
// file's bytes into blobs/{etag}.incomplete, resumed with a Range after a cut, checked against the
// Hub's size and hash, and renamed into blobs/{etag}.
// Node-only.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { HubError, networkReason } from './errors.ts';
import type { RepoCache } from './node-cache.ts';
import type { RepoRef } from './repo-ref.ts';
import { authHeaders, failure, type HubFileMetadata } from './responses.ts';
import type { HubFileProgress } from './source.ts';
import { sameHost } from './urls.ts';

export interface HubHttp {
  fetch: typeof fetch;
  endpoint: string;
  token: string | undefined;
  etagTimeoutMs: number;
  downloadTimeoutMs: number;
  signal?: AbortSignal;
}

const OFFLINE_HINT = 'to use only models already in the cache, set HF_HUB_OFFLINE=1';
const MAX_RELATIVE_REDIRECTS = 10;

const withTimeout = (ms: number, signal?: AbortSignal) =>
  signal ? AbortSignal.any([signal, AbortSignal.timeout(ms)]) : AbortSignal.timeout(ms);

function unreachable(url: string, e: unknown, details: { repo: string; revision: string; file: string }, signal?: AbortSignal): Error {
  if (signal?.aborted) return signal.reason as Error;
  return new HubError('network', `cannot reach ${url}: ${networkReason(e)}; ${OFFLINE_HINT}`, { ...details, url }, { cause: e });
}

/**
 * HEAD `url` with redirects to other hosts left unfollowed. Returns the last answer and the URL
 * it came from; an HTTP error status is returned, not thrown (the caller knows what a 404 means).
 */
export async function headResolve(url: string, http: HubHttp, ref: RepoRef, file: string): Promise<{ response: Response; url: string }> {
  // Compression would hide the real size in Content-Length.
  const headers = { ...authHeaders(http.token), 'accept-encoding': 'identity' };
  for (let hop = 0; ; hop++) {
    let r: Response;
    try {
      r = await http.fetch(url, { method: 'HEAD', headers, redirect: 'manual', signal: withTimeout(http.etagTimeoutMs, http.signal) });
    } catch (e) {
      throw unreachable(url, e, { repo: ref.repo, revision: ref.revision, file }, http.signal);
    }
    const location = r.headers.get('location');
    const relative = location !== null && !/^[a-z][a-z0-9+.-]*:|^\/\//i.test(location);
    if (r.status >= 300 && r.status < 400 && relative && hop < MAX_RELATIVE_REDIRECTS) {
      url = new URL(location, url).href;
      continue;
    }
    return { response: r, url };
  }
}

/** The hash the Hub's ETag is: sha256 of the bytes (LFS), or git's blob sha1; none for other ETags. */
function hasherFor(etag: string, size: number): Hash | undefined {
  if (/^[0-9a-f]{64}$/.test(etag)) return createHash('sha256');
  if (/^[0-9a-f]{40}$/.test(etag)) return createHash('sha1').update(`blob ${size}\0`);
  return undefined;
}

async function fileSize(p: string): Promise<number> {
  try { return (await stat(p)).size; } catch { return 0; }
}

async function hashFile(hash: Hash, p: string): Promise<void> {
  for await (const chunk of createReadStream(p, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
}

export interface DownloadRequest {
  cache: RepoCache;
  ref: RepoRef;
  file: string;
  meta: HubFileMetadata;
  /** The resolve URL the metadata came from: the token goes only to its host. */
  resolvedFrom: string;
  onProgress: (p: HubFileProgress) => void;
  /** Resumptions within this call after a cut that brought new bytes (huggingface_hub retries too). */
  retries: number;
}

/**
 * Make blobs/{etag} hold the file: resume blobs/{etag}.incomplete from where it stops (a Range
 * request), verify size and hash, rename. A cut connection with no retries left throws
 * 'interrupted' and keeps the partial file for the next run.
 */
export async function downloadBlob(req: DownloadRequest, http: HubHttp): Promise<void> {
  const { cache, ref, file, meta, onProgress } = req;
  const blob = cache.blobPath(meta.etag);
  if (await fileSize(blob) === meta.size && (await stat(blob).catch(() => undefined))?.isFile()) {
    // Another revision (or repository file) with the same contents brought it already.
    onProgress({ file, state: 'cached', bytesDone: meta.size, bytesTotal: meta.size });
    return;
  }
  await mkdir(path.dirname(blob), { recursive: true });
  await cache.tag();
  const partial = cache.incompletePath(meta.etag);
  const details = { repo: ref.repo, revision: ref.revision, file, url: meta.location };

  let have = await fileSize(partial);
  if (have > meta.size) { await rm(partial, { force: true }); have = 0; }
  const resumedFrom = have;
  let hash = hasherFor(meta.etag, meta.size);
  if (hash && have > 0) await hashFile(hash, partial);
  await (await open(partial, 'a')).close(); // even an empty file has its blob
  onProgress({ file, state: 'downloading', bytesDone: have, bytesTotal: meta.size, resumedFrom });

  /** A cut connection: what arrived stays for the next run. */
  const stopped = (cause: unknown) => new HubError('interrupted', `the download of ${file} from ${meta.location} stopped at byte ${have} of ${meta.size} `
    + `(${cause ? networkReason(cause) : 'the connection closed early'}); the ${have} bytes are kept in ${partial}: run the same command again to resume`, details, { cause });

  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  // A CDN link is signed: the token is for the Hub only.
  if (sameHost(meta.location, req.resolvedFrom)) Object.assign(headers, authHeaders(http.token));

  for (let retries = req.retries; have < meta.size; retries--) {
    const idle = new AbortController();
    const signal = http.signal ? AbortSignal.any([http.signal, idle.signal]) : idle.signal;
    let timer = setTimeout(() => idle.abort(new DOMException('no data', 'TimeoutError')), http.downloadTimeoutMs);
    const rearm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(new DOMException('no data', 'TimeoutError')), http.downloadTimeoutMs);
    };
    let r: Response;
    try {
      r = await http.fetch(meta.location, { headers: have > 0 ? { ...headers, range: `bytes=${have}-` } : headers, signal });
    } catch (e) {
      clearTimeout(timer);
      if (have > 0 && !http.signal?.aborted) throw stopped(e);
      throw unreachable(meta.location, e, details, http.signal);
    }
    const rangeStart = Number(/^bytes (\d+)-/.exec(r.headers.get('content-range') ?? '')?.[1]);
    if (r.status === 416 || (r.status === 206 && rangeStart !== have)) {
      // The partial file does not fit what the server has: start again.
      clearTimeout(timer);
      await r.body?.cancel().catch(() => {});
      await rm(partial, { force: true });
      have = 0; hash = hasherFor(meta.etag, meta.size);
      if (retries <= 0) throw new HubError('corrupt', `${meta.location} refused to resume ${file} (${r.status}); the partial download was removed: run again`, details);
      continue;
    }
    if (!r.ok) {
      clearTimeout(timer);
      await r.body?.cancel().catch(() => {});
      throw failure(r, { ref, file, url: meta.location, endpoint: http.endpoint, tokenSent: 'authorization' in headers });
    }
    if (r.status === 200 && have > 0) {
      // The server ignored the Range and sends the whole file.
      await rm(partial, { force: true });
      have = 0; hash = hasherFor(meta.etag, meta.size);
    }
    const before = have;
    const out = await open(partial, 'a');
    let cut: unknown;
    try {
      const reader = r.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        rearm();
        await out.write(value);
        hash?.update(value);
        have += value.length;
        onProgress({ file, state: 'downloading', bytesDone: have, bytesTotal: meta.size, resumedFrom });
      }
    } catch (e) {
      cut = e;
    } finally {
      clearTimeout(timer);
      await out.close();
    }
    if (http.signal?.aborted) throw http.signal.reason;
    if (have > meta.size) {
      await rm(partial, { force: true });
      throw new HubError('corrupt', `${file}: ${meta.location} sent ${have} bytes, the Hub says ${meta.size}; the partial download was removed: run again`, details);
    }
    if (have < meta.size && (have === before || retries <= 0)) throw stopped(cut);
  }
  if (hash) {
    const got = hash.digest('hex');
    if (got !== meta.etag) {
      await rm(partial, { force: true });
      throw new HubError('corrupt', `${file}: the downloaded bytes hash to ${got}, the Hub says ${meta.etag}; the partial download was removed: run again`, details);
    }
  }
  await rename(partial, blob);
  onProgress({ file, state: 'done', bytesDone: meta.size, bytesTotal: meta.size, resumedFrom });
}

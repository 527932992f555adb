// A checkpoint read straight from the Hugging Face Hub, with no cache: each file is fetched from
// its resolve URL (redirects followed: LFS files live on a CDN) as the loader asks for it, so a
// sharded index works as it does on disk. The first answer that names a commit (X-Repo-Commit)
// pins it: later files come from that commit even if the branch moves meanwhile.
// Browser- and worker-safe. Node caches in the Hub's own layout instead (./node-source.ts).
import { CheckpointError } from '../errors.ts';
import type { CheckpointSource } from '../checkpoint/source.ts';
import { contentLength } from '../checkpoint/source.ts';
import { HubError, networkReason } from './errors.ts';
import { formatRepoRef, parseRepoRef, type RepoRef } from './repo-ref.ts';
import { authHeaders, failure, linkedSize } from './responses.ts';
import { normalizeEndpoint, resolveUrl } from './urls.ts';

/** Progress of one file: from a cache, or arriving. */
export interface HubFileProgress {
  file: string;
  /** 'cached': there already, nothing to fetch; 'downloading': bytes arriving; 'done': all here. */
  state: 'cached' | 'downloading' | 'done';
  bytesDone: number;
  /** The file's size, when known. */
  bytesTotal: number | undefined;
  /** Bytes a resumed download already had before this run. */
  resumedFrom?: number;
}

export interface HubSourceOptions {
  /** Default: the public Hub (https://huggingface.co). */
  endpoint?: string;
  /** An access token for gated or private repositories, sent as `Authorization: Bearer`. */
  token?: string | null;
  fetch?: typeof fetch;
  /** Hears of each file: per chunk while it arrives, and once when it is complete. */
  onFile?: (p: HubFileProgress) => void;
  /** Aborts every request and the body being read (a cancelled load): they reject with its reason. */
  signal?: AbortSignal;
}

/** A CheckpointSource over the Hub that can say which commit it reads. */
export interface HubCheckpointSource extends CheckpointSource {
  readonly ref: RepoRef;
  /** The commit the revision resolved to, once an answer has said. */
  commit(): string | undefined;
}

interface Probe { ok: boolean; size: number | undefined }

export function hubSource(model: RepoRef | string, options: HubSourceOptions = {}): HubCheckpointSource {
  const ref = typeof model === 'string' ? parseRepoRef(model) : model;
  const endpoint = normalizeEndpoint(options.endpoint);
  const fetchImpl = options.fetch ?? ((...a) => fetch(...a));
  const headers = authHeaders(options.token);
  const onFile = options.onFile ?? (() => {});
  const signal = options.signal;
  let pinned: string | undefined;

  const urlOf = (file: string) => resolveUrl(endpoint, { repo: ref.repo, revision: pinned ?? ref.revision }, file);
  const request = async (file: string, method: 'HEAD' | 'GET'): Promise<Response> => {
    const url = urlOf(file);
    let r: Response;
    signal?.throwIfAborted();
    try { r = await fetchImpl(url, { method, headers, signal }); } catch (e) {
      // A cancelled load is not a network failure: it rejects with the signal's reason.
      signal?.throwIfAborted();
      throw new HubError('network', `cannot reach ${url}: ${networkReason(e)}`, { repo: ref.repo, revision: ref.revision, file, url }, { cause: e });
    }
    pinned ??= r.headers.get('x-repo-commit') ?? undefined;
    if (r.status === 404 && (r.headers.get('x-error-code') ?? 'EntryNotFound') === 'EntryNotFound') {
      await r.body?.cancel().catch(() => {});
      return r;
    }
    if (!r.ok) {
      await r.body?.cancel().catch(() => {});
      throw failure(r, { ref, file, url, endpoint, tokenSent: !!options.token });
    }
    return r;
  };
  const probes = new Map<string, Promise<Probe>>();
  const probe = (file: string) => {
    let p = probes.get(file);
    if (!p) {
      p = request(file, 'HEAD').then((r) => ({
        ok: r.ok,
        size: r.ok ? linkedSize(r) ?? contentLength(r) : undefined,
      }));
      probes.set(file, p);
    }
    return p;
  };
  const get = async (file: string) => {
    const r = await request(file, 'GET');
    if (!r.ok) throw new CheckpointError('missing-file', file, `not in ${formatRepoRef(ref)} on ${endpoint}`);
    return r;
  };

  return {
    ref,
    label: `${formatRepoRef(ref)} (${endpoint})`,
    commit: () => pinned,
    async has(file) { return (await probe(file)).ok; },
    async size(file) { return (await probe(file)).size; },
    async text(file) {
      const text = await (await get(file)).text();
      const n = new TextEncoder().encode(text).length;
      onFile({ file, state: 'done', bytesDone: n, bytesTotal: n });
      return text;
    },
    async stream(file) {
      const r = await get(file);
      if (!r.body) throw new CheckpointError('missing-file', file, `${urlOf(file)} answered without a body`);
      const total = contentLength(r);
      let done = 0;
      let finished = false;
      const finish = () => {
        if (!finished) onFile({ file, state: 'done', bytesDone: done, bytesTotal: total ?? done });
        finished = true;
      };
      return r.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          done += chunk.length;
          onFile({ file, state: 'downloading', bytesDone: done, bytesTotal: total });
          // A reader that stops at the last byte cancels before the stream's end is seen.
          if (done === total) finish();
          c.enqueue(chunk);
        },
        flush: finish,
      }));
    },
  };
}

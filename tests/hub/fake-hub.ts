// A local server that answers like the Hugging Face Hub, for tests that must never touch the
// network (Node tests here; the site's "Open from the Hugging Face Hub" in headless Chromium later).
//
// Two HTTP servers on 127.0.0.1: the Hub and a "CDN" on another port (so another host:port, as
// cdn-lfs.hf.co is to huggingface.co).
// - `{hub}/{org}/{name}/resolve/{revision}/{file}` (GET, HEAD) for a branch, a tag or the commit:
//   git files (JSON, ...) answered directly with ETag = git blob sha1; LFS files (*.safetensors)
//   answered 302 (or 307) to `{cdn}/blobs/{sha256}?...` with X-Linked-Etag and X-Linked-Size.
//   Every answer carries X-Repo-Commit. Errors carry X-Error-Code and X-Error-Message as the Hub's:
//   RepoNotFound (401 without a token, 404 with one), RevisionNotFound, EntryNotFound (404),
//   GatedRepo (401 without a token, 403 with a wrong one). A renamed repository answers 307 with
//   a relative Location.
// - The CDN serves bytes with Range (206, 416) and can cut a connection part-way through a file.
// - CORS on everything (the Hub sends it; a page on another origin reads these answers).
// Every request is logged, with its Range and whether it carried a token.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface FakeRepoSpec {
  /** "org/name". */
  id: string;
  /** Serve every regular file of this folder... */
  dir?: string;
  /** ...and/or these files (name -> bytes or text). */
  files?: Record<string, Uint8Array | string>;
  /** Gated: only a request with `Authorization: Bearer {token}` may read it. */
  gatedToken?: string;
  /** Tags or branches besides "main", all at the one commit. */
  tags?: string[];
}

export interface FakeHubOptions {
  repos: FakeRepoSpec[];
  /** The status that sends an LFS file to the CDN: 302 (the Hub's) or 307. */
  lfsRedirect?: 302 | 307;
  /** Old id -> current id: the Hub's 307 with a relative Location. */
  renamed?: Record<string, string>;
}

export interface LoggedRequest {
  server: 'hub' | 'cdn';
  method: string;
  /** Path and query, as sent. */
  path: string;
  range?: string;
  authorization?: string;
  status: number;
  /** Body bytes sent (for a cut, those sent before the cut). */
  bytes: number;
}

export interface FakeFile {
  name: string;
  bytes: Uint8Array;
  lfs: boolean;
  /** sha256 for LFS files, git blob sha1 for others. */
  etag: string;
}

export interface FakeHub {
  /** The Hub endpoint (HF_ENDPOINT). */
  url: string;
  /** The CDN's origin. */
  cdnUrl: string;
  requests: LoggedRequest[];
  /** The commit a repository's revisions point at. */
  commitOf(repo: string): string;
  file(repo: string, name: string): FakeFile;
  /** The next `times` GETs of this file from the CDN stop after byte `at` of the file, then the connection is cut. */
  cut(repo: string, name: string, at: number, times?: number): void;
  close(): Promise<void>;
}

const EXPOSED = 'X-Repo-Commit, X-Error-Code, X-Error-Message, X-Linked-Size, X-Linked-Etag, ETag, Content-Range, Content-Length, Accept-Ranges, Location';
const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': EXPOSED,
};

const sha = (algo: 'sha1' | 'sha256', ...parts: (string | Uint8Array)[]) => {
  const h = createHash(algo);
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const gitBlobSha1 = (b: Uint8Array) => sha('sha1', `blob ${b.length}\0`, b);

interface Repo { id: string; files: Map<string, FakeFile>; commit: string; revisions: Set<string>; gatedToken?: string }

function buildRepo(spec: FakeRepoSpec): Repo {
  const files = new Map<string, FakeFile>();
  const add = (name: string, data: Uint8Array | string) => {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    const lfs = name.endsWith('.safetensors');
    files.set(name, { name, bytes, lfs, etag: lfs ? sha('sha256', bytes) : gitBlobSha1(bytes) });
  };
  if (spec.dir) {
    for (const f of readdirSync(spec.dir).sort()) {
      const p = path.join(spec.dir, f);
      if (statSync(p).isFile()) add(f, readFileSync(p));
    }
  }
  for (const [name, data] of Object.entries(spec.files ?? {})) add(name, data);
  const commit = sha('sha1', spec.id, ...[...files.values()].map((f) => `${f.name}:${f.etag}`));
  return { id: spec.id, files, commit, revisions: new Set(['main', ...(spec.tags ?? [])]), gatedToken: spec.gatedToken };
}

function parseRange(range: string | undefined, size: number): { start: number; end: number } | 'bad' | undefined {
  if (!range) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(range.trim());
  if (!m) return 'bad';
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start < size && start <= end ? { start, end } : 'bad';
}

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; origin: string }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export async function startFakeHub(options: FakeHubOptions): Promise<FakeHub> {
  const repos = new Map(options.repos.map((s) => [s.id, buildRepo(s)]));
  const blobs = new Map<string, FakeFile>();
  for (const r of repos.values()) for (const f of r.files.values()) if (f.lfs) blobs.set(f.etag, f);
  const requests: LoggedRequest[] = [];
  const cuts = new Map<string, { at: number; times: number }>();

  /** Answer with `bytes` (or the Range of it asked for), logging the request. */
  const send = (server: 'hub' | 'cdn', req: http.IncomingMessage, res: http.ServerResponse, status: number,
    headers: Record<string, string>, body: Uint8Array = new Uint8Array(0), cutAt?: number) => {
    const entry: LoggedRequest = {
      server, method: req.method ?? 'GET', path: req.url ?? '', status, bytes: 0,
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    };
    requests.push(entry);
    res.writeHead(status, { ...CORS, ...headers, 'content-length': String(body.length) });
    if (req.method === 'HEAD') { res.end(); return; }
    if (cutAt !== undefined && cutAt < body.length) {
      entry.bytes = cutAt;
      res.write(body.subarray(0, cutAt), () => res.socket?.destroy());
      return;
    }
    entry.bytes = body.length;
    res.end(body);
  };

  /** A file's bytes with Range honoured; `cutAt` is an offset into the whole file. */
  const serveBytes = (server: 'hub' | 'cdn', req: http.IncomingMessage, res: http.ServerResponse, f: FakeFile, headers: Record<string, string>, cutAt?: number) => {
    const range = req.method === 'GET' ? parseRange(req.headers.range, f.bytes.length) : undefined;
    if (range === 'bad') {
      send(server, req, res, 416, { ...headers, 'content-range': `bytes */${f.bytes.length}` });
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? f.bytes.length - 1;
    const body = f.bytes.subarray(start, end + 1);
    const h: Record<string, string> = { ...headers, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    if (range) h['content-range'] = `bytes ${start}-${end}/${f.bytes.length}`;
    send(server, req, res, range ? 206 : 200, h, body, cutAt !== undefined ? Math.max(0, cutAt - start) : undefined);
  };

  const hubError = (req: http.IncomingMessage, res: http.ServerResponse, status: number, code: string, message: string, extra: Record<string, string> = {}) =>
    send('hub', req, res, status, { 'x-error-code': code, 'x-error-message': message, 'content-type': 'text/plain', ...extra },
      new TextEncoder().encode(message));

  let cdnOrigin = '';
  const hubHandler: http.RequestListener = (req, res) => {
    if (req.method === 'OPTIONS') {
      send('hub', req, res, 204, { 'access-control-allow-methods': 'GET, HEAD, OPTIONS', 'access-control-allow-headers': 'authorization, range, content-type, accept-encoding' });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://hub');
    const m = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!m || (req.method !== 'GET' && req.method !== 'HEAD')) { send('hub', req, res, 404, { 'content-type': 'text/plain' }); return; }
    const [, org, name, revRaw, fileRaw] = m;
    const id = `${org}/${name}`;
    const renamedTo = options.renamed?.[id];
    if (renamedTo) {
      send('hub', req, res, 307, { location: `/${renamedTo}/resolve/${revRaw}/${fileRaw}` });
      return;
    }
    const repo = repos.get(id);
    const auth = req.headers.authorization;
    if (!repo) {
      hubError(req, res, auth ? 404 : 401, 'RepoNotFound', 'Repository not found');
      return;
    }
    if (repo.gatedToken !== undefined && auth !== `Bearer ${repo.gatedToken}`) {
      if (!auth) hubError(req, res, 401, 'GatedRepo', `Access to model ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
      else hubError(req, res, 403, 'GatedRepo', `Access to model ${id} is restricted and you are not in the authorized list. Visit ${hubOrigin}/${id} to ask for access.`);
      return;
    }
    const revision = decodeURIComponent(revRaw);
    if (revision !== repo.commit && !repo.revisions.has(revision)) {
      hubError(req, res, 404, 'RevisionNotFound', `Invalid rev id: ${revision}`);
      return;
    }
    const file = repo.files.get(fileRaw.split('/').map(decodeURIComponent).join('/'));
    const commitHeader = { 'x-repo-commit': repo.commit };
    if (!file) {
      hubError(req, res, 404, 'EntryNotFound', 'Entry not found', commitHeader);
      return;
    }
    if (file.lfs) {
      const location = `${cdnOrigin}/blobs/${file.etag}?X-Amz-Signature=${sha('sha1', file.etag).slice(0, 16)}`;
      const body = new TextEncoder().encode(`Found. Redirecting to ${location}`);
      send('hub', req, res, options.lfsRedirect ?? 302, {
        ...commitHeader, location, 'x-linked-etag': `"${file.etag}"`, 'x-linked-size': String(file.bytes.length),
        etag: `W/"${sha('sha1', location).slice(0, 24)}"`, 'content-type': 'text/plain',
      }, body);
      return;
    }
    serveBytes('hub', req, res, file, { ...commitHeader, etag: `"${file.etag}"` });
  };

  const cdnHandler: http.RequestListener = (req, res) => {
    if (req.method === 'OPTIONS') {
      send('cdn', req, res, 204, { 'access-control-allow-methods': 'GET, HEAD, OPTIONS', 'access-control-allow-headers': 'range, content-type, accept-encoding' });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://cdn');
    const m = /^\/blobs\/([0-9a-f]{64})$/.exec(url.pathname);
    const f = m ? blobs.get(m[1]) : undefined;
    if (!f || !url.searchParams.get('X-Amz-Signature')) { send('cdn', req, res, 403, { 'content-type': 'text/plain' }); return; }
    let cutAt: number | undefined;
    const cut = cuts.get(f.etag);
    if (cut && req.method === 'GET' && cut.times > 0) {
      cut.times--;
      cutAt = cut.at;
    }
    serveBytes('cdn', req, res, f, { etag: `"${f.etag}"` }, cutAt);
  };

  const hub = await listen(hubHandler);
  const cdn = await listen(cdnHandler);
  const hubOrigin = hub.origin;
  cdnOrigin = cdn.origin;

  const repoOf = (id: string) => {
    const r = repos.get(id);
    if (!r) throw new Error(`fake hub: no repository ${id}`);
    return r;
  };
  const fileOf = (id: string, name: string) => {
    const f = repoOf(id).files.get(name);
    if (!f) throw new Error(`fake hub: no file ${name} in ${id}`);
    return f;
  };

  return {
    url: hub.origin,
    cdnUrl: cdn.origin,
    requests,
    commitOf: (id) => repoOf(id).commit,
    file: fileOf,
    cut(id, name, at, times = 1) {
      const f = fileOf(id, name);
      if (!f.lfs) throw new Error(`fake hub: ${name} is not an LFS file (only the CDN cuts)`);
      cuts.set(f.etag, { at, times });
    },
    async close() {
      for (const s of [hub.server, cdn.server]) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}

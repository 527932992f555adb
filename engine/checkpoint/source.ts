// Where a checkpoint's files come from: a URL folder, files picked in a browser, or (in
// ../node.ts) a directory on disk. Each file is read as a stream, once, front to back.
import { CheckpointError } from '../errors.ts';

export interface CheckpointSource {
  /** Human-readable origin, used in messages ("models/mixscope-tiny", a URL, "3 files"). */
  label: string;
  has(name: string): Promise<boolean>;
  /** Size in bytes, when the source knows it. */
  size(name: string): Promise<number | undefined>;
  text(name: string): Promise<string>;
  stream(name: string): Promise<ReadableStream<Uint8Array>>;
}

/** A folder on a web server: `${base}/config.json`, ... */
export function urlSource(base: string, fetchImpl: typeof fetch = (...a) => fetch(...a)): CheckpointSource {
  const root = base.endsWith('/') ? base : `${base}/`;
  const url = (name: string) => new URL(name, new URL(root, globalThis.location?.href ?? 'http://localhost/')).href;
  const heads = new Map<string, Promise<Response>>();
  const head = (name: string) => {
    let p = heads.get(name);
    if (!p) { p = fetchImpl(url(name), { method: 'HEAD' }); heads.set(name, p); }
    return p;
  };
  const get = async (name: string) => {
    let r: Response;
    try { r = await fetchImpl(url(name)); } catch (e) {
      throw new CheckpointError('missing-file', name, `cannot fetch ${url(name)}: ${(e as Error).message}`);
    }
    if (!r.ok) throw new CheckpointError('missing-file', name, `${url(name)} answered ${r.status} ${r.statusText}`);
    return r;
  };
  return {
    label: root,
    async has(name) {
      try { return (await head(name)).ok; } catch { return false; }
    },
    async size(name) {
      try {
        const len = (await head(name)).headers.get('content-length');
        return len === null ? undefined : Number(len);
      } catch { return undefined; }
    },
    async text(name) { return (await get(name)).text(); },
    async stream(name) {
      const r = await get(name);
      if (!r.body) throw new CheckpointError('missing-file', name, 'response has no body');
      return r.body;
    },
  };
}

/** Files chosen in a browser (a folder picker or several files), matched by base name. */
export function filesSource(files: readonly File[]): CheckpointSource {
  const byName = new Map<string, File>();
  for (const f of files) byName.set(f.name.split('/').pop()!, f);
  const file = (name: string) => {
    const f = byName.get(name);
    if (!f) throw new CheckpointError('missing-file', name, `not among the chosen files (${[...byName.keys()].join(', ') || 'none'})`);
    return f;
  };
  return {
    label: files.length === 1 ? files[0].name : `${files.length} files`,
    async has(name) { return byName.has(name); },
    async size(name) { return byName.get(name)?.size; },
    async text(name) { return file(name).text(); },
    async stream(name) { return file(name).stream() as ReadableStream<Uint8Array>; },
  };
}

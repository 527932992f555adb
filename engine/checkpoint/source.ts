// Where a checkpoint's files come from: a URL folder, files picked in a browser, or (in
// ../node.ts) a directory on disk. Each file is read as a stream, once, front to back.
// Browser- and worker-safe: no Node modules here.
import { CheckpointError } from '../errors.ts';

/** The named files of one checkpoint ("config.json", "model.safetensors", ...). */
export interface CheckpointSource {
  /** Human-readable origin, used in messages ("models/mixscope-tiny", a URL, "3 files"). */
  label: string;
  /** The file names, when the source can enumerate them (a URL folder cannot). */
  list?(): string[];
  has(name: string): Promise<boolean>;
  /** Size in bytes, when the source knows it. */
  size(name: string): Promise<number | undefined>;
  /**
   * The whole file as UTF-8 text; 'missing-file' when absent. With `maxBytes`, a source that
   * cannot know a file's size beforehand stops reading past that many bytes and throws
   * 'over-limit' (JSON files are read this way: see json-limits.ts).
   */
  text(name: string, maxBytes?: number): Promise<string>;
  /** The file's bytes, front to back; 'missing-file' when absent. */
  stream(name: string): Promise<ReadableStream<Uint8Array>>;
}

interface Probe { ok: boolean; size: number | undefined }

/** The size of the file a response carries (the whole file's, for a ranged answer), when its headers say. */
export function contentLength(r: Response): number | undefined {
  // A compressed response's Content-Length counts compressed bytes, not the bytes the body yields.
  const enc = r.headers.get('content-encoding');
  if (enc && enc.toLowerCase() !== 'identity') return undefined;
  const range = r.headers.get('content-range'); // "bytes 0-0/12345"
  if (range) {
    const total = /\/(\d+)\s*$/.exec(range);
    return total ? Number(total[1]) : undefined;
  }
  if (r.status !== 200) return undefined;
  const len = r.headers.get('content-length');
  if (len === null || !/^\d+$/.test(len.trim())) return undefined;
  return Number(len);
}

/**
 * A folder on a web server: `${base}/config.json`, ... `base` may be relative to the page.
 * Existence and size come from HEAD requests (falling back to a one-byte ranged GET where HEAD
 * is refused); a 404 is 'missing-file'. `signal` aborts every request (a load that is cancelled
 * or replaced stops fetching at once, also while a server keeps it waiting).
 */
export function urlSource(base: string, fetchImpl: typeof fetch = (...a) => fetch(...a), signal?: AbortSignal): CheckpointSource {
  const root = base.endsWith('/') ? base : `${base}/`;
  const rootUrl = new URL(root, globalThis.location?.href ?? 'http://localhost/');
  const url = (name: string) => new URL(encodeURIComponent(name), rootUrl).href;
  const probes = new Map<string, Promise<Probe>>();
  const probe = (name: string): Promise<Probe> => {
    let p = probes.get(name);
    if (!p) {
      p = (async () => {
        let r = await fetchImpl(url(name), { method: 'HEAD', signal });
        if (r.status === 404 || r.status === 410) return { ok: false, size: undefined };
        if (!r.ok) {
          // Some hosts (signed URLs, minimal servers) refuse HEAD: ask for one byte instead.
          r = await fetchImpl(url(name), { headers: { Range: 'bytes=0-0' }, signal });
          await r.body?.cancel().catch(() => {});
        }
        return { ok: r.ok, size: r.ok ? contentLength(r) : undefined };
      })().catch(() => {
        signal?.throwIfAborted();
        return { ok: false, size: undefined };
      });
      probes.set(name, p);
    }
    return p;
  };
  const get = async (name: string) => {
    let r: Response;
    try { r = await fetchImpl(url(name), { signal }); } catch (e) {
      signal?.throwIfAborted();
      throw new CheckpointError('missing-file', name, `cannot fetch ${url(name)}: ${(e as Error).message}`);
    }
    if (!r.ok) {
      await r.body?.cancel().catch(() => {});
      throw new CheckpointError('missing-file', name, `${url(name)} answered ${r.status} ${r.statusText}`.trimEnd());
    }
    return r;
  };
  return {
    label: rootUrl.href,
    async has(name) { return (await probe(name)).ok; },
    async size(name) { return (await probe(name)).size; },
    async text(name, maxBytes) {
      const r = await get(name);
      return maxBytes === undefined ? r.text() : boundedText(r, name, maxBytes);
    },
    async stream(name) {
      const r = await get(name);
      if (!r.body) throw new CheckpointError('missing-file', name, `${url(name)} answered without a body`);
      return r.body;
    },
  };
}

/** A response's body as text, refused once it passes `maxBytes` (the rest is not fetched). */
async function boundedText(r: Response, name: string, maxBytes: number): Promise<string> {
  const declared = contentLength(r);
  if (declared !== undefined && declared > maxBytes) {
    await r.body?.cancel().catch(() => {});
    throw new CheckpointError('over-limit', name, `is ${declared} bytes, more than the ${maxBytes} this engine reads`);
  }
  if (!r.body) return '';
  const reader = r.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new CheckpointError('over-limit', name, `is more than the ${maxBytes} bytes this engine reads`);
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const p of parts) { bytes.set(p, at); at += p.length; }
  return new TextDecoder().decode(bytes);
}

/** A Blob with a name: a File, or anything shaped like one (for tests and workers). */
export type NamedBlob = Blob & { readonly name: string; readonly webkitRelativePath?: string };

function pathOf(f: NamedBlob): string {
  return f.webkitRelativePath || f.name;
}

/**
 * Files chosen in a browser (a folder picker with webkitdirectory, drag and drop, or several
 * files), matched by base name. When several chosen files share a base name (a parent folder
 * was picked), the one nearest the top of the picked folder wins; ties keep the first.
 */
export function filesSource(files: readonly NamedBlob[]): CheckpointSource {
  const byName = new Map<string, NamedBlob>();
  const depth = new Map<string, number>();
  for (const f of files) {
    const parts = pathOf(f).split(/[\\/]/).filter(Boolean);
    const base = parts.at(-1) ?? f.name;
    const d = parts.length;
    if (!byName.has(base) || d < depth.get(base)!) { byName.set(base, f); depth.set(base, d); }
  }
  const file = (name: string) => {
    const f = byName.get(name);
    if (!f) throw new CheckpointError('missing-file', name, `not among the chosen files (${[...byName.keys()].join(', ') || 'none'})`);
    return f;
  };
  const folder = files.length ? pathOf(files[0]).split(/[\\/]/).filter(Boolean) : [];
  const label = files.length === 1 ? files[0].name
    : folder.length > 1 ? `${folder[0]} (${files.length} files)` : `${files.length} files`;
  return {
    label,
    list() { return [...byName.keys()]; },
    async has(name) { return byName.has(name); },
    async size(name) { return byName.get(name)?.size; },
    async text(name) { return file(name).text(); },
    async stream(name) { return file(name).stream() as ReadableStream<Uint8Array>; },
  };
}

// The browser-side sources: urlSource over a stubbed fetch (the parsing behind it is real) and
// filesSource over File objects.
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../errors.ts';
import { loadCheckpoint } from './load.ts';
import { filesSource, urlSource } from './source.ts';
import { safetensorsBytes } from './testing/write-safetensors.ts';
import { tinyTensors, TINY_CONFIG, valueOf } from './testing/tiny-checkpoint.ts';

const enc = (s: string) => new TextEncoder().encode(s);

interface StubOptions { refuseHead?: boolean; gzipHeaders?: boolean; chunk?: number }

/** A fetch over files in memory at http://host/models/tiny/, logging every request. */
function stubFetch(files: Record<string, Uint8Array>, opts: StubOptions = {}) {
  const log: string[] = [];
  const impl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    log.push(`${method} ${url.pathname}`);
    const name = decodeURIComponent(url.pathname.replace(/^\/models\/tiny\//, ''));
    const body = url.pathname.startsWith('/models/tiny/') ? files[name] : undefined;
    if (!body) return new Response(null, { status: 404, statusText: 'Not Found' });
    const headers: Record<string, string> = { 'content-length': String(body.length) };
    if (opts.gzipHeaders) { headers['content-encoding'] = 'gzip'; headers['content-length'] = '3'; }
    if (method === 'HEAD') return opts.refuseHead ? new Response(null, { status: 405 }) : new Response(null, { status: 200, headers });
    const range = new Headers(init?.headers).get('range');
    if (range === 'bytes=0-0') {
      return new Response(body.slice(0, 1), { status: 206, headers: { 'content-range': `bytes 0-0/${body.length}`, 'content-length': '1' } });
    }
    const chunk = opts.chunk ?? 7;
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (at >= body.length) { c.close(); return; }
        c.enqueue(body.slice(at, at + chunk)); at += chunk;
      },
    });
    return new Response(stream, { status: 200, headers });
  };
  return { impl: impl as typeof fetch, log };
}

const tinyFiles = () => ({
  'config.json': enc(JSON.stringify(TINY_CONFIG)),
  'model.safetensors': safetensorsBytes(tinyTensors('BF16')),
});

describe('urlSource', () => {
  it('loads a checkpoint from a folder URL, fetching each weight file once', async () => {
    const files = tinyFiles();
    const { impl, log } = stubFetch(files);
    const src = urlSource('http://host/models/tiny', impl);
    expect(src.label).toBe('http://host/models/tiny/');
    const seen: number[] = [];
    const ck = await loadCheckpoint(src, { onProgress: (p) => seen.push(p.bytesDone) });
    expect(ck.weights.norm[2]).toBe(valueOf('model.norm.weight', 2));
    expect(log.filter((l) => l === 'GET /models/tiny/model.safetensors')).toHaveLength(1);
    expect(seen.at(-1)).toBe(files['model.safetensors'].length);
    expect(await src.size('model.safetensors')).toBe(files['model.safetensors'].length);
  });

  it('a missing file is missing-file (404), naming the file', async () => {
    const { impl } = stubFetch({ 'config.json': enc(JSON.stringify(TINY_CONFIG)) });
    const src = urlSource('http://host/models/tiny/', impl);
    expect(await src.has('model.safetensors')).toBe(false);
    await expect(src.text('tokenizer.json')).rejects.toMatchObject({ code: 'missing-file', file: 'tokenizer.json' });
    await expect(src.stream('model.safetensors')).rejects.toMatchObject({ code: 'missing-file', file: 'model.safetensors' });
    const e = await loadCheckpoint(src).catch((x) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e).toMatchObject({ code: 'missing-file', file: 'model.safetensors' });
    await expect(loadCheckpoint(urlSource('http://host/elsewhere/', impl))).rejects.toMatchObject({ code: 'missing-file', file: 'config.json' });
  });

  it('an index naming a shard the server does not have is bad-index', async () => {
    const { 'model.safetensors': _single, ...rest } = tinyFiles();
    const { impl } = stubFetch({ ...rest, 'model.safetensors.index.json': enc('{"weight_map":{"model.norm.weight":"model-00001-of-00002.safetensors"}}') });
    const e = await loadCheckpoint(urlSource('http://host/models/tiny/', impl)).catch((x) => x);
    expect(e).toMatchObject({ code: 'bad-index', file: 'model.safetensors.index.json' });
    expect(e.message).toContain('model-00001-of-00002.safetensors');
  });

  it('falls back to a one-byte ranged GET where HEAD is refused', async () => {
    const files = tinyFiles();
    const { impl, log } = stubFetch(files, { refuseHead: true });
    const src = urlSource('http://host/models/tiny/', impl);
    expect(await src.has('config.json')).toBe(true);
    expect(await src.size('model.safetensors')).toBe(files['model.safetensors'].length);
    expect(await src.has('nothing.json')).toBe(false);
    expect(log).toContain('GET /models/tiny/model.safetensors');
    const ck = await loadCheckpoint(src);
    expect(ck.config.hidden_size).toBe(8);
  });

  it('does not trust Content-Length of a compressed response: the header decides the total', async () => {
    const files = tinyFiles();
    const { impl } = stubFetch(files, { gzipHeaders: true });
    const src = urlSource('http://host/models/tiny/', impl);
    expect(await src.size('model.safetensors')).toBeUndefined();
    const seen: { done: number; total: number }[] = [];
    await loadCheckpoint(src, { onProgress: (p) => seen.push({ done: p.bytesDone, total: p.bytesTotal }) });
    expect(seen.at(-1)).toEqual({ done: files['model.safetensors'].length, total: files['model.safetensors'].length });
    for (let i = 1; i < seen.length; i++) expect(seen[i].done).toBeGreaterThanOrEqual(seen[i - 1].done);
    for (const s of seen) expect(s.done).toBeLessThanOrEqual(s.total);
  });

  it('a network error is missing-file; a body that fails midway is truncated, naming the tensor', async () => {
    const down = urlSource('http://host/x/', (async () => { throw new TypeError('fetch failed'); }) as typeof fetch);
    expect(await down.has('config.json')).toBe(false);
    await expect(down.text('config.json')).rejects.toMatchObject({ code: 'missing-file' });

    const files = tinyFiles();
    const { impl } = stubFetch(files);
    const failing = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const r = await impl(input, init);
      if (!String(input).endsWith('model.safetensors') || (init?.method ?? 'GET') !== 'GET') return r;
      const reader = r.body!.getReader();
      let n = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (n > files['model.safetensors'].length / 2) { c.error(new TypeError('network connection lost')); return; }
          const { value, done } = await reader.read();
          if (done) c.close(); else { n += value.length; c.enqueue(value); }
        },
      });
      return new Response(body, { status: 200, headers: r.headers });
    }) as typeof fetch;
    const e = await loadCheckpoint(urlSource('http://host/models/tiny/', failing)).catch((x) => x);
    expect(e).toBeInstanceOf(CheckpointError);
    expect(e.code).toBe('truncated');
    expect(e.file).toBe('model.safetensors');
    expect(e.tensor).toMatch(/^model\./);
    expect(e.message).toMatch(/network connection lost/);
  });
});

describe('filesSource', () => {
  it('matches picked files by base name, nearest the top of the picked folder', async () => {
    const good = tinyFiles();
    const file = (path: string, bytes: Uint8Array) => {
      const f = new File([bytes.slice()], path.split('/').pop()!);
      Object.defineProperty(f, 'webkitRelativePath', { value: path });
      return f;
    };
    const files = [
      file('tiny/old/config.json', enc('{')),               // deeper: loses to the top-level one
      file('tiny/config.json', good['config.json']),
      file('tiny/model.safetensors', good['model.safetensors']),
    ];
    const src = filesSource(files);
    expect(src.label).toBe('tiny (3 files)');
    expect(src.list!().sort()).toEqual(['config.json', 'model.safetensors']);
    expect(await src.size('model.safetensors')).toBe(good['model.safetensors'].length);
    const ck = await loadCheckpoint(src);
    expect(ck.weights.layers[0].k_proj[3]).toBe(valueOf('model.layers.0.self_attn.k_proj.weight', 3));
  });

  it('accepts named Blobs, and names what is missing', async () => {
    const blob = Object.assign(new Blob([enc(JSON.stringify(TINY_CONFIG)).slice()]), { name: 'config.json' });
    const src = filesSource([blob]);
    expect(src.label).toBe('config.json');
    const e = await loadCheckpoint(src).catch((x) => x);
    expect(e).toMatchObject({ code: 'missing-file', file: 'model.safetensors' });
    await expect(src.stream('model.safetensors')).rejects.toMatchObject({ code: 'missing-file' });
  });
});

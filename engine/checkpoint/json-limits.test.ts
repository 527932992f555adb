// JSON files of a checkpoint are bounded before JSON.parse sees them: size (checked before they
// are read, or while they are read when the size is unknown), nesting and string length.
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../errors.ts';
import { checkJsonBounds, JSON_LIMITS, parseBoundedJson, readJsonFile } from './json-limits.ts';
import { urlSource, type CheckpointSource } from './source.ts';

const limits = { bytes: 1000, depth: 4, string: 10 };

function refused(f: () => unknown, code = 'over-limit'): CheckpointError {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(CheckpointError);
  expect((err as CheckpointError).code).toBe(code);
  return err as CheckpointError;
}

describe('JSON with bounds', () => {
  it('parses what is within them', () => {
    expect(parseBoundedJson('{"a":[[{"b":"0123456789"}]]}', 'x.json', limits, 'bad-config')).toEqual({ a: [[{ b: '0123456789' }]] });
  });

  it('refuses nesting past the limit, at the first bracket past it', () => {
    expect(refused(() => checkJsonBounds('[[[[[1]]]]]', 'x.json', limits)).message).toBe('x.json: nests deeper than 4 levels (at character 4)');
    // Brackets inside strings are text.
    expect(() => checkJsonBounds('["[[[[[[[[", "]]]]]"]', 'x.json', { ...limits, string: 100 })).not.toThrow();
  });

  it('refuses a string past the limit, escapes counted as written', () => {
    expect(refused(() => checkJsonBounds('{"k":"01234567890"}', 'x.json', limits)).message).toMatch(/has a string longer than 10 characters \(at character 16\)/);
    expect(() => checkJsonBounds('{"k":"\\"\\"\\"\\"\\""}', 'x.json', limits)).not.toThrow();
  });

  it('not JSON is the code asked for, its reason cut short', () => {
    const e = refused(() => parseBoundedJson(`{"a": ${'1'.repeat(900)}x}`, 'config.json', limits, 'bad-config'), 'bad-config');
    expect(e.message.length).toBeLessThan(140);
  });

  it('a file over the size limit is refused unread when its size is known', async () => {
    let read = false;
    const source: CheckpointSource = {
      label: 'big', async has() { return true; }, async size() { return 5 * 2 ** 20; },
      async text() { read = true; return '{}'; }, async stream() { throw new Error('not read'); },
    };
    await expect(readJsonFile(source, 'config.json', JSON_LIMITS.config, 'bad-config')).rejects.toThrow('config.json: is 5242880 bytes, more than the 4 MiB this engine reads');
    expect(read).toBe(false);
  });

  it('from a server that does not say its size, reading stops at the limit', async () => {
    let sent = 0;
    const body = () => new ReadableStream<Uint8Array>({
      pull(c) { sent += 1024; c.enqueue(new Uint8Array(1024).fill(0x20)); }, // endless spaces
    });
    const fetchImpl = (async (_: RequestInfo | URL, init?: RequestInit) => (init?.method === 'HEAD' ? new Response(null, { status: 200 }) : new Response(body(), { status: 200 }))) as typeof fetch;
    const source = urlSource('http://host/m/', fetchImpl);
    await expect(readJsonFile(source, 'config.json', { bytes: 64 * 1024, depth: 4, string: 10 }, 'bad-config')).rejects.toThrow(/config\.json: is more than the 65536 bytes this engine reads/);
    expect(sent).toBeLessThan(80 * 1024);
  });
});

describe('a URL source with a signal', () => {
  it('aborts a request the server keeps waiting, with the signal\'s reason', async () => {
    const ac = new AbortController();
    const fetchImpl = ((_: RequestInfo | URL, init?: RequestInit) => new Promise<Response>((_, reject) => {
      init?.signal?.addEventListener('abort', () => reject(init.signal!.reason));
    })) as typeof fetch;
    const source = urlSource('http://host/m/', fetchImpl, ac.signal);
    const pending = source.has('config.json');
    setTimeout(() => ac.abort(new DOMException('the load was cancelled', 'AbortError')), 10);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError', message: 'the load was cancelled' });
  });
});

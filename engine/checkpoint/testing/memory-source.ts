// A checkpoint held in memory, streamed in chunks of a chosen size, counting every byte read.
import { CheckpointError } from '../../errors.ts';
import type { CheckpointSource } from '../source.ts';

/** `hideSizes` acts like a server that sends no Content-Length: truncation is found while streaming. */
export function memorySource(files: Record<string, Uint8Array | string>, chunk = 1 << 16, { hideSizes = false } = {}) {
  const stats = { bytesStreamed: 0, streams: new Map<string, number>() };
  const bytes = (name: string) => {
    const f = files[name];
    if (f === undefined) throw new CheckpointError('missing-file', name, 'not in memory source');
    return typeof f === 'string' ? new TextEncoder().encode(f) : f;
  };
  const source: CheckpointSource = {
    label: 'memory',
    async has(name) { return name in files; },
    async size(name) { return name in files && !hideSizes ? bytes(name).length : undefined; },
    async text(name) { return new TextDecoder().decode(bytes(name)); },
    async stream(name) {
      const b = bytes(name);
      stats.streams.set(name, (stats.streams.get(name) ?? 0) + 1);
      let at = 0;
      return new ReadableStream<Uint8Array>({
        pull(c) {
          if (at >= b.length) { c.close(); return; }
          const piece = b.slice(at, Math.min(b.length, at + chunk));
          at += piece.length;
          stats.bytesStreamed += piece.length;
          c.enqueue(piece);
        },
      });
    },
  };
  return { source, stats };
}

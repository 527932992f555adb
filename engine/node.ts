// Node-only helpers: read a checkpoint from a directory on disk.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import path from 'node:path';
import { CheckpointError } from './errors.ts';
import { loadCheckpoint, type CheckpointSource, type LoadedCheckpoint, type LoadOptions } from './checkpoint/index.ts';
import { loadModel, type Model } from './model.ts';

export function directorySource(dir: string): CheckpointSource {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CheckpointError('missing-file', dir, 'is not a directory');
  const file = (name: string) => path.join(dir, name);
  return {
    label: dir,
    async has(name) { return existsSync(file(name)); },
    async size(name) { return existsSync(file(name)) ? statSync(file(name)).size : undefined; },
    async text(name) {
      try { return await readFile(file(name), 'utf8'); } catch (e) {
        throw new CheckpointError('missing-file', name, `cannot read ${file(name)}: ${(e as Error).message}`);
      }
    },
    async stream(name) {
      if (!existsSync(file(name))) throw new CheckpointError('missing-file', name, `${file(name)} does not exist`);
      return Readable.toWeb(createReadStream(file(name), { highWaterMark: 1 << 20 })) as ReadableStream<Uint8Array>;
    },
  };
}

export async function loadModelDirectory(dir: string, options?: LoadOptions): Promise<LoadedCheckpoint> {
  return loadCheckpoint(directorySource(dir), options);
}

export async function loadModelFromDirectory(dir: string, options?: LoadOptions): Promise<Model> {
  return loadModel(directorySource(dir), options);
}

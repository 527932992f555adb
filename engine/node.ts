// Node-only helpers: read a checkpoint from a directory on disk, or from the Hugging Face Hub
// through its cache on disk. The Node entry: only it and the hub/node-*.ts modules it re-exports
// import node:* (everything else runs in a browser or a Web Worker).
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import path from 'node:path';
import { CheckpointError } from './errors.ts';
import { loadCheckpoint, type CheckpointSource, type LoadedCheckpoint, type LoadOptions } from './checkpoint/index.ts';
import { loadModel, type Model } from './model.ts';

export { hubCacheSource, type HubCacheSource, type HubCacheSourceOptions } from './hub/node-source.ts';
export { RepoCache, repoFolderName } from './hub/node-cache.ts';
export { hubSettings, hubCacheDir, hubToken, hfHome, type HubSettings } from './hub/node-settings.ts';

async function fileSize(p: string): Promise<number | undefined> {
  try {
    const s = await stat(p);
    return s.isFile() ? s.size : undefined;
  } catch { return undefined; }
}

/** The files of a checkpoint directory, streamed with node:fs. Throws 'missing-file' if `dir` is not a directory. */
export function directorySource(dir: string): CheckpointSource {
  let isDir = false;
  try { isDir = statSync(dir).isDirectory(); } catch { /* reported below */ }
  if (!isDir) throw new CheckpointError('missing-file', dir, 'is not a directory');
  const file = (name: string) => {
    // Names are plain file names inside the directory, never paths out of it.
    if (name !== path.basename(name) || name === '.' || name === '..') {
      throw new CheckpointError('missing-file', name, `is not a file name inside ${dir}`);
    }
    return path.join(dir, name);
  };
  return {
    label: dir,
    list() { return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name).sort(); },
    async has(name) {
      try { return (await fileSize(file(name))) !== undefined; } catch { return false; }
    },
    async size(name) { return fileSize(file(name)); },
    async text(name) {
      try { return await readFile(file(name), 'utf8'); } catch (e) {
        throw new CheckpointError('missing-file', name, `cannot read ${file(name)}: ${(e as Error).message}`);
      }
    },
    async stream(name) {
      const p = file(name);
      if ((await fileSize(p)) === undefined) throw new CheckpointError('missing-file', name, `${p} does not exist`);
      return Readable.toWeb(createReadStream(p, { highWaterMark: 1 << 20 })) as unknown as ReadableStream<Uint8Array>;
    },
  };
}

/** Load the checkpoint in `dir` (config.json, safetensors weights, optional tokenizer.json). */
export async function loadModelDirectory(dir: string, options?: LoadOptions): Promise<LoadedCheckpoint> {
  return loadCheckpoint(directorySource(dir), options);
}

/** Load the checkpoint in `dir` as a Model (tokenizer built, parameters counted). */
export async function loadModelFromDirectory(dir: string, options?: LoadOptions): Promise<Model> {
  return loadModel(directorySource(dir), options);
}

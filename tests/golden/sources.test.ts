// The same checkpoint through each source: a directory, a URL (real HTTP), and browser-style Files.
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadCheckpoint, urlSource, filesSource } from '../../engine/checkpoint/index.ts';
import { loadModelDirectory } from '../../engine/node.ts';
import { serveDirectory } from '../browser/static-server.ts';
import { GOLDEN_DIR } from './fixtures.ts';
import { CheckpointError } from '../../engine/errors.ts';

const dir = path.join(GOLDEN_DIR, 'f32-sharded');

describe('checkpoint sources', () => {
  it('a URL folder over HTTP loads the same weights as the directory', async () => {
    const server = await serveDirectory(GOLDEN_DIR);
    try {
      const fromUrl = await loadCheckpoint(urlSource(`${server.url}/f32-sharded/`));
      const fromDir = await loadModelDirectory(dir);
      expect(fromUrl.config).toEqual(fromDir.config);
      expect(fromUrl.weights.layers[2].experts[3].w2).toEqual(fromDir.weights.layers[2].experts[3].w2);
      await expect(loadCheckpoint(urlSource(`${server.url}/nowhere/`))).rejects.toMatchObject({ code: 'missing-file', file: 'config.json' });
    } finally {
      await server.close();
    }
  });

  it('Files chosen in a browser load too', async () => {
    const files = readdirSync(dir).map((f) => new File([readFileSync(path.join(dir, f))], f));
    const ck = await loadCheckpoint(filesSource(files));
    expect(ck.config.num_hidden_layers).toBe(3);
    const missing = filesSource(files.filter((f) => f.name !== 'config.json'));
    await expect(loadCheckpoint(missing)).rejects.toBeInstanceOf(CheckpointError);
  });

  it('a path that is not a directory is a clear error', async () => {
    await expect(loadModelDirectory('/nonexistent/model')).rejects.toThrow(/is not a directory/);
  });
});

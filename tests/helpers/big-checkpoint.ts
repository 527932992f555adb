// A random F16 Mixtral written straight to disk, tensor by tensor, never whole in memory: for the
// tests that load checkpoints larger than the process may hold. Values are halves drawn from a
// table of 4096 by a seeded xorshift: uniform in [-scale, scale] for matrices, near 1 for norms.
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { floatToHalf } from '../../engine/webgpu/f16.ts';
import { parseConfig } from '../../engine/config.ts';
import { eachTensorSpec } from '../../engine/checkpoint/tensor-specs.ts';

/** Write config.json and model.safetensors for `config` into `dir`; returns the weight file's bytes. */
export function writeRandomMixtral(dir: string, config: Record<string, unknown>, { seed = 1, scale = 0.02 } = {}): number {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const specs = [...eachTensorSpec(parseConfig(config))];
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const s of specs) {
    const bytes = 2 * s.shape.reduce((a, b) => a * b, 1);
    header[s.name] = { dtype: 'F16', shape: s.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while (json.length % 8) json += ' ';
  const table = (lo: number, hi: number) => Uint16Array.from({ length: 4096 }, (_, i) => floatToHalf(lo + ((hi - lo) * (i + 0.5)) / 4096));
  const weights = table(-scale, scale), norms = table(0.9, 1.1);
  let x = seed >>> 0 || 1;
  const fd = openSync(path.join(dir, 'model.safetensors'), 'w');
  try {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
    writeSync(fd, len);
    writeSync(fd, new TextEncoder().encode(json));
    const chunk = new Uint16Array(1 << 22);
    for (const s of specs) {
      const t = s.shape.length === 1 ? norms : weights;
      for (let left = s.shape.reduce((a, b) => a * b, 1); left > 0;) {
        const n = Math.min(left, chunk.length);
        for (let i = 0; i < n; i++) {
          x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
          chunk[i] = t[(x >>> 0) & 4095];
        }
        writeSync(fd, new Uint8Array(chunk.buffer, 0, 2 * n));
        left -= n;
      }
    }
  } finally {
    closeSync(fd);
  }
  return 8 + json.length + offset;
}

import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { countParameters } from '../params.ts';
import { parseConfig } from '../config.ts';
import { largestTensorBytes } from '../webgpu/limits.ts';
import { mixtralTensorSpecs } from '../checkpoint/tensor-specs.ts';
import { checkFit, countTableParameters, matrixBytes, moeTensorTable, weightFootprint } from './index.ts';

const CONFIGS = path.resolve(import.meta.dirname, '../../models/configs');
const config = (f: string) => JSON.parse(readFileSync(path.join(CONFIGS, f), 'utf8')) as Record<string, unknown>;

describe('sizing a model from its config', () => {
  it('counts the published configs as tests/reference/count_params.py does (total, active)', () => {
    // From `param_counts` in tests/reference/moe_reference.py, checked there against the model cards.
    const expected: Record<string, [number, number]> = {
      'granite-3.1-1b-a400m.json': [1334628352, 428658688],
      'mixtral-8x22b-v0.1.json': [140620634112, 39152031744],
      'mixtral-8x7b-v0.1.json': [46702792704, 12879925248],
      'olmoe-1b-7b-0924.json': [6919161856, 1282017280],
      'qwen1.5-moe-a2.7b-chat.json': [14315784192, 2689173504],
      'qwen3-30b-a3b.json': [30532122624, 3353032704],
    };
    expect(readdirSync(CONFIGS).filter((f) => f.endsWith('.json')).sort()).toEqual(Object.keys(expected).sort());
    for (const [file, [total, active]] of Object.entries(expected)) {
      expect(countTableParameters(moeTensorTable(config(file))), file).toEqual({ total, activePerToken: active });
    }
  });

  it('is the engine\'s own reading: every shipped config\'s groups hold exactly the tensors the engine loads, counted as countParameters counts', () => {
    for (const file of readdirSync(CONFIGS).filter((f) => f.endsWith('.json'))) {
      const c = parseConfig(config(file));
      const t = moeTensorTable(config(file));
      const p = countParameters(c);
      expect(t.config, file).toEqual(c);
      expect(countTableParameters(t), file).toEqual({ total: p.total, activePerToken: p.activePerToken });
      const grouped = t.groups.reduce((a, g) => a + g.count * g.shape.reduce((x, y) => x * y, 1), 0);
      const loaded = mixtralTensorSpecs(c).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
      expect(grouped, file).toBe(p.total);
      expect(loaded, file).toBe(p.total);
      expect(t.groups.reduce((a, g) => a + g.count, 0), file).toBe(mixtralTensorSpecs(c).length + t.groups.filter((g) => g.name.endsWith('[*]')).reduce((a, g) => a + g.count - g.count / c.num_local_experts, 0));
    }
  });

  it('agrees with the engine\'s own Mixtral count and largest tensor', () => {
    const raw = config('mixtral-8x7b-v0.1.json');
    const p = countParameters(parseConfig(raw));
    expect(countTableParameters(moeTensorTable(raw))).toEqual({ total: p.total, activePerToken: p.activePerToken });
    // The engine stacks a layer's experts in one buffer before splitting; one expert is its unit here.
    const c = parseConfig(raw);
    expect(largestTensorBytes(c, 'f16')).toBe(c.num_local_experts * weightFootprint(moeTensorTable(raw), 'f16').largest.bytes);
  });

  it('bytes per format: f16 is half of f32, q8 1.0625 and q4 0.625 bytes a weight in whole groups', () => {
    expect(matrixBytes('f32', 10, 64)).toBe(2560);
    expect(matrixBytes('f16', 10, 64)).toBe(1280);
    expect(matrixBytes('q8', 10, 64)).toBe(10 * (64 + 4));
    expect(matrixBytes('q4', 10, 64)).toBe(10 * (32 + 8));
    expect(matrixBytes('q4', 1, 33)).toBe(17 + 8); // a short last group keeps its scale and minimum
    const t = moeTensorTable(config('mixtral-8x7b-v0.1.json'));
    const f32 = weightFootprint(t, 'f32'), f16 = weightFootprint(t, 'f16'), q4 = weightFootprint(t, 'q4');
    expect(f16.bytes / f32.bytes).toBeCloseTo(0.5, 4);
    expect(q4.bytes / f32.bytes).toBeCloseTo(0.625 / 4, 3);
    expect(f16.largest).toEqual({ name: 'model.layers.*.block_sparse_moe.experts.*.w1.weight', bytes: 14336 * 4096 * 2 });
  });

  it('refuses with the numbers when one piece exceeds the binding limit, and fits when it does not', () => {
    const fp = weightFootprint(moeTensorTable(config('mixtral-8x22b-v0.1.json')), 'f16');
    expect(fp.largest.bytes).toBe(16384 * 6144 * 2); // one expert's w1: 201 MB
    const small = checkFit(fp, { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20 });
    expect(small.fits).toBe(false);
    expect(small.message).toContain('needs 201.3 MB in one buffer');
    expect(small.message).toContain('binds at most 134.2 MB');
    expect(checkFit(fp, { maxBufferSize: 2 ** 31, maxStorageBufferBindingSize: 2 ** 31 }).fits).toBe(true);
  });

  it('names the field it cannot size', () => {
    expect(() => moeTensorTable({ model_type: 'llama', hidden_size: 8 })).toThrow(/model_type "llama"/);
    expect(() => moeTensorTable({ model_type: 'mixtral', hidden_size: 8 })).toThrow(/"num_hidden_layers"/);
  });
});

import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { countParameters } from '../params.ts';
import { parseConfig } from '../config.ts';
import { largestTensorBytes } from '../webgpu/limits.ts';
import { checkFit, countTableParameters, defaultWeightFormat, matrixBytes, moeTensorTable, weightFootprint, WEIGHT_FORMATS, type WeightFormat } from './index.ts';

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

describe('the default weight format for a device', () => {
  const formatsOf = (file: string) => {
    const t = moeTensorTable(config(file));
    return Object.fromEntries(WEIGHT_FORMATS.map((f) => [f, weightFootprint(t, f)])) as Record<WeightFormat, ReturnType<typeof weightFootprint>>;
  };
  const GiB = 2 ** 30;
  const big = { maxBufferSize: 4 * GiB, maxStorageBufferBindingSize: 4 * GiB };

  it('is f16 where it fits, else q8, else q4, by the memory given and the binding limits', () => {
    const m = formatsOf('mixtral-8x7b-v0.1.json'); // 46.7 B parameters: 93 GB in f16, 50 GB in q8, 29 GB in q4
    expect(defaultWeightFormat(m, big).format).toBe('f16');
    expect(defaultWeightFormat(m, big, 80 * GiB)).toMatchObject({ format: 'q8', fits: true });
    expect(defaultWeightFormat(m, big, 40 * GiB)).toMatchObject({ format: 'q4', fits: true });
    const none = defaultWeightFormat(m, big, 10 * GiB);
    expect(none).toMatchObject({ format: 'q4', fits: false });
    expect(none.message).toMatch(/even in q4/);
    // One expert's w1 in f16 is 117 MB: over a 64 MiB binding, while q8's 62 MB fits it.
    expect(defaultWeightFormat(m, { maxBufferSize: 64 * 2 ** 20, maxStorageBufferBindingSize: 64 * 2 ** 20 }).format).toBe('q8');
  });
});

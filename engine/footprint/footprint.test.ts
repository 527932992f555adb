import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { countParameters } from '../params.ts';
import { parseConfig } from '../config.ts';
import { largestTensorBytes } from '../webgpu/limits.ts';
import { mixtralTensorSpecs } from '../checkpoint/tensor-specs.ts';
import { DEFAULT_LIMITS, WEIGHT_FORMATS, checkFit, countTableParameters, defaultWeightFormat, formatChoices, matrixBytes, moeTensorTable, weightFootprint, type CheckpointInspection } from './index.ts';

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

describe('the weight format a device loads in by default', () => {
  /** What inspectCheckpoint gives for a published config, without files. */
  const inspection = (file: string, storedDtype: CheckpointInspection['storedDtype'] = 'BF16'): CheckpointInspection => {
    const raw = config(file), t = moeTensorTable(raw);
    return {
      label: file, modelType: t.modelType, config: raw, parameters: countTableParameters(t), files: [], downloadBytes: 0, complete: true, storedDtype,
      formats: Object.fromEntries(WEIGHT_FORMATS.map((f) => [f, weightFootprint(t, f)])) as CheckpointInspection['formats'],
    };
  };
  const GiB = 2 ** 30;

  it('is f16 where it fits, else q8, else q4, else none (a tab\'s 4 or 8 GiB)', () => {
    expect(defaultWeightFormat(inspection('granite-3.1-1b-a400m.json'), 'webgpu', DEFAULT_LIMITS, 4 * GiB)).toBe('f16');
    expect(defaultWeightFormat(inspection('olmoe-1b-7b-0924.json'), 'webgpu', DEFAULT_LIMITS, 8 * GiB)).toBe('q8');
    expect(defaultWeightFormat(inspection('olmoe-1b-7b-0924.json'), 'cpu', null, 5 * GiB)).toBe('q4');
    expect(defaultWeightFormat(inspection('mixtral-8x7b-v0.1.json'), 'webgpu', DEFAULT_LIMITS, 4 * GiB)).toBeNull();
  });

  it('on WebGPU passes over a format whose largest piece this adapter cannot bind, saying so with the numbers', () => {
    const ins = inspection('mixtral-8x22b-v0.1.json');
    expect(defaultWeightFormat(ins, 'webgpu', DEFAULT_LIMITS)).toBe('q8');
    const f16 = formatChoices(ins, 'webgpu', DEFAULT_LIMITS).find((c) => c.format === 'f16')!;
    expect(f16.fits).toBe(false);
    expect(f16.reason).toContain('needs 201.3 MB in one buffer');
    // The CPU engine binds nothing: only memory counts there.
    expect(defaultWeightFormat(ins, 'cpu', null)).toBe('f16');
  });

  it('on the CPU keeps an F32 checkpoint in f32 when it fits (exact), and says what each format would take', () => {
    const ins = inspection('granite-3.1-1b-a400m.json', 'F32');
    expect(defaultWeightFormat(ins, 'cpu', null, 8 * GiB)).toBe('f32');
    expect(defaultWeightFormat(ins, 'cpu', null, 4 * GiB)).toBe('f16');
    const choices = formatChoices(ins, 'cpu', null, 4 * GiB);
    expect(choices.map((c) => c.format)).toEqual(['f32', 'f16', 'q8', 'q4']);
    expect(choices[0]).toMatchObject({ fits: false, bytes: ins.formats.f32.bytes });
    expect(choices[0].reason).toMatch(/^5\.34 GB of weights in f32, over the 4\.29 GB this engine may hold$/);
  });
});

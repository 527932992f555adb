// Loading a Hugging Face Mixtral checkpoint: config.json, then each safetensors file streamed
// once, front to back, copying the tensors the model needs as their bytes go by.
import { parseConfig, type MixtralConfig } from '../config.ts';
import { CheckpointError } from '../errors.ts';
import type { LayerWeights, MixtralWeights } from '../weights.ts';
import { toFloat32, isDType } from './dtype.ts';
import { parseHeader, readHeaderLength, type TensorEntry } from './safetensors-header.ts';
import type { CheckpointSource } from './source.ts';
import { ExactReader } from './stream-reader.ts';
import { mixtralTensorSpecs } from './tensor-specs.ts';

export interface LoadProgress { bytesDone: number; bytesTotal: number; file: string }

export interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

export interface LoadedCheckpoint {
  label: string;
  config: MixtralConfig;
  weights: MixtralWeights;
  /** Parsed tokenizer.json, or null when the checkpoint has none. */
  tokenizerJson: unknown | null;
  files: string[];
  /** Bytes stored per dtype over the tensors the model uses. */
  dtypeBytes: Record<string, number>;
}

const INDEX = 'model.safetensors.index.json';
const SINGLE = 'model.safetensors';

/** Which safetensors files to read: the shards an index names, or the single file. */
async function weightFiles(source: CheckpointSource): Promise<string[]> {
  if (await source.has(INDEX)) {
    let index: { weight_map?: Record<string, unknown> };
    try { index = JSON.parse(await source.text(INDEX)); } catch (e) {
      throw new CheckpointError('bad-index', INDEX, `not valid JSON (${(e as Error).message})`);
    }
    const map = index?.weight_map;
    if (typeof map !== 'object' || map === null) throw new CheckpointError('bad-index', INDEX, 'missing "weight_map"');
    const shards = [...new Set(Object.values(map))];
    for (const s of shards) {
      if (typeof s !== 'string' || s.includes('/') || s.includes('\\')) throw new CheckpointError('bad-index', INDEX, `weight_map names an invalid shard ${JSON.stringify(s)}`);
      if (!(await source.has(s))) throw new CheckpointError('bad-index', INDEX, `names shard "${s}", which is missing`);
    }
    return (shards as string[]).sort();
  }
  if (await source.has(SINGLE)) return [SINGLE];
  throw new CheckpointError('missing-file', SINGLE, `no ${SINGLE} or ${INDEX} in ${source.label}`);
}

export async function loadCheckpoint(source: CheckpointSource, options: LoadOptions = {}): Promise<LoadedCheckpoint> {
  const { signal, onProgress } = options;
  if (!(await source.has('config.json'))) throw new CheckpointError('missing-file', 'config.json', `no config.json in ${source.label}`);
  const config = parseConfig(await source.text('config.json'));

  let tokenizerJson: unknown | null = null;
  if (await source.has('tokenizer.json')) {
    try { tokenizerJson = JSON.parse(await source.text('tokenizer.json')); } catch (e) {
      throw new CheckpointError('bad-tokenizer', 'tokenizer.json', `not valid JSON (${(e as Error).message})`);
    }
  }

  const files = await weightFiles(source);
  const specs = new Map(mixtralTensorSpecs(config).map((s) => [s.name, s]));
  const optional = new Set(config.tie_word_embeddings ? ['lm_head.weight'] : []);
  const sizes = await Promise.all(files.map((f) => source.size(f)));
  let bytesTotal = sizes.reduce<number>((a, s) => a + (s ?? 0), 0);
  let bytesDone = 0;

  const tensors = new Map<string, Float32Array>();
  const found = new Map<string, string>(); // tensor -> file
  const dtypeBytes: Record<string, number> = {};

  for (let fi = 0; fi < files.length; fi++) {
    const file = files[fi];
    signal?.throwIfAborted();
    const stream = await source.stream(file);
    const report = (n: number) => { bytesDone += n; onProgress?.({ bytesDone: Math.min(bytesDone, bytesTotal), bytesTotal, file }); };
    const reader = new ExactReader(stream, report);
    try {
      const first = await reader.read(8, signal);
      const n = readHeaderLength(first, file, sizes[fi]);
      const headerBytes = await reader.read(n, signal);
      if (headerBytes.length < n) throw new CheckpointError('truncated', file, `file ends inside its ${n}-byte header`);
      const header = parseHeader(headerBytes, file, sizes[fi]);
      if (sizes[fi] === undefined) bytesTotal += header.impliedSize;

      // The tensors of this file the model needs, in the order their bytes appear.
      const wanted: TensorEntry[] = [];
      for (const t of header.tensors.values()) {
        const spec = specs.get(t.name);
        if (!spec && !(t.name === 'lm_head.weight' && optional.has(t.name))) continue;
        if (found.has(t.name)) throw new CheckpointError('bad-index', file, `tensor also stored in "${found.get(t.name)}"`, t.name);
        if (!isDType(t.dtype)) throw new CheckpointError('unknown-dtype', file, `dtype "${t.dtype}" is not one of F32, F16, BF16`, t.name);
        const expected = spec?.shape ?? [config.vocab_size, config.hidden_size];
        if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
          throw new CheckpointError('shape-mismatch', file, `shape [${t.shape}] does not match config.json, which implies [${expected}]`, t.name);
        }
        found.set(t.name, file);
        wanted.push(t);
      }
      wanted.sort((a, b) => a.begin - b.begin);

      for (const t of wanted) {
        const gap = t.begin - reader.offset;
        if (gap > 0 && (await reader.skip(gap, signal)) < gap) {
          throw new CheckpointError('truncated', file, `file ends at byte ${reader.offset}, before this tensor starts at ${t.begin}`, t.name);
        }
        const bytes = await reader.read(t.end - t.begin, signal);
        if (bytes.length < t.end - t.begin) {
          throw new CheckpointError('truncated', file, `file ends at byte ${reader.offset}, inside this tensor (bytes ${t.begin}..${t.end})`, t.name);
        }
        tensors.set(t.name, toFloat32(bytes, t.dtype as 'F32' | 'F16' | 'BF16'));
        dtypeBytes[t.dtype] = (dtypeBytes[t.dtype] ?? 0) + bytes.length;
      }
      // A file shorter than its header says is broken even if the missing bytes were not needed.
      const end = header.impliedSize;
      if (reader.offset < end && (await reader.skip(end - reader.offset, signal)) < end - reader.offset) {
        throw new CheckpointError('truncated', file, `file ends at byte ${reader.offset}, but its header describes ${end} bytes`);
      }
    } finally {
      await reader.cancel();
    }
  }
  onProgress?.({ bytesDone: bytesTotal, bytesTotal, file: files[files.length - 1] });

  for (const name of specs.keys()) {
    if (!tensors.has(name)) throw new CheckpointError('missing-tensor', files.join(', '), 'tensor is in none of the files', name);
  }
  return { label: source.label, config, weights: assemble(config, tensors), tokenizerJson, files: ['config.json', ...files, ...(tokenizerJson ? ['tokenizer.json'] : [])], dtypeBytes };
}

function assemble(c: MixtralConfig, t: Map<string, Float32Array>): MixtralWeights {
  const get = (name: string) => t.get(name)!;
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    layers.push({
      input_layernorm: get(`${p}.input_layernorm.weight`),
      q_proj: get(`${p}.self_attn.q_proj.weight`),
      k_proj: get(`${p}.self_attn.k_proj.weight`),
      v_proj: get(`${p}.self_attn.v_proj.weight`),
      o_proj: get(`${p}.self_attn.o_proj.weight`),
      post_attention_layernorm: get(`${p}.post_attention_layernorm.weight`),
      gate: get(`${p}.block_sparse_moe.gate.weight`),
      experts: Array.from({ length: c.num_local_experts }, (_, e) => {
        const x = `${p}.block_sparse_moe.experts.${e}`;
        return { w1: get(`${x}.w1.weight`), w2: get(`${x}.w2.weight`), w3: get(`${x}.w3.weight`) };
      }),
    });
  }
  const embed = get('model.embed_tokens.weight');
  return { embed_tokens: embed, layers, norm: get('model.norm.weight'), lm_head: t.get('lm_head.weight') ?? embed };
}

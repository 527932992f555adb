// Loading a checkpoint for the CPU engine at the width it is stored: tensors arrive one at a
// time (./tensor-reader.ts, with every check the float32 loader makes) and 16-bit matrices are
// kept as they are (cpu/stored-weights.ts), so memory is about the file's size; norms and the
// router's gate are decoded to float32. With a `format`, each matrix is converted as it arrives
// (quant/quantize-weights.ts), so memory is about the format's size plus one stored tensor.
// Browser-, worker- and Node-safe.
import type { MixtralConfig } from '../config.ts';
import { CheckpointError } from '../errors.ts';
import type { CpuWeights, WeightMatrix } from '../cpu/stored-weights.ts';
import { sliceMatrix, weightsBytesHeld } from '../cpu/stored-weights.ts';
import { matrixBytes, type WeightFormat } from '../footprint/formats.ts';
import { convertMatrix } from '../quant/quantize-weights.ts';
import { isMoeLayer } from '../family.ts';
import { countParameters } from '../params.ts';
import { decodeInto, DTYPE_BYTES } from './dtype.ts';
import { bytes, checkAllPresent, readModelFiles, CONFIG_FILE, TOKENIZER_FILE } from './checkpoint-files.ts';
import type { LoadOptions } from './load.ts';
import type { CheckpointSource } from './source.ts';
import { fusedExpertViews, tensorSpecFor } from './tensor-specs.ts';
import { readTensors, type StoredTensor, type TensorReadReport, type UnusedTensor } from './tensor-reader.ts';

export interface StoredCheckpoint {
  label: string;
  config: MixtralConfig;
  weights: CpuWeights;
  tokenizerJson: unknown | null;
  /** The files read: config.json, the weight files in reading order, tokenizer.json if present. */
  files: string[];
  /** Bytes stored per dtype over the tensors the model uses. */
  dtypeBytes: Record<string, number>;
  /** Bytes the weights hold in memory. */
  heldBytes: number;
  /** Tensors skipped because the model does not use them: the first 1000. */
  unusedTensors: UnusedTensor[];
  /** How many tensors were skipped in all. */
  unusedCount: number;
}

const toFloat32 = (t: StoredTensor): Float32Array => {
  if (t.dtype === 'F32') return new Float32Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.length / 4);
  const out = new Float32Array(t.bytes.length / DTYPE_BYTES[t.dtype]);
  decodeInto(t.bytes, t.dtype, out, 0);
  return out;
};

/** A matrix kept at stored width; F32 as float32 (the bytes are fresh and aligned: a view, no copy). */
const keep = (t: StoredTensor): WeightMatrix => {
  if (t.dtype === 'F32') return new Float32Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.length / 4);
  return { dtype: t.dtype, words: new Uint16Array(t.bytes.buffer, t.bytes.byteOffset, t.bytes.length / 2) };
};

/** Bytes a tensor will hold here: full width for vectors and the router, stored width for the rest. */
const heldBy = (t: { name: string; shape: number[]; dtype: string }, full: boolean) =>
  t.shape.reduce((a, d) => a * d, 1) * (full ? 4 : DTYPE_BYTES[t.dtype as keyof typeof DTYPE_BYTES]);

export interface StoredLoadOptions extends LoadOptions {
  /** Keep the matrices in this format (converted as each arrives); default: as stored. */
  format?: WeightFormat;
}

/**
 * Like loadCheckpoint (load.ts), with the weights at stored width, or in `format`. `maxWeightBytes`
 * bounds the bytes held here (stored width or the format for matrices), checked tensor by tensor
 * before each is read.
 */
export async function loadStoredCheckpoint(source: CheckpointSource, options: StoredLoadOptions = {}): Promise<StoredCheckpoint> {
  const { signal, onProgress, maxWeightBytes = Infinity, format } = options;
  const { config, tokenizerJson } = await readModelFiles(source, signal);
  const specOf = (name: string) => tensorSpecFor(config, name, { optional: true })!;
  // Vectors, the router and Qwen2-MoE's one-row shared-expert gate are small: float32.
  const isFull = (name: string) => { const s = specOf(name); return s.shape.length === 1 || s.field === 'gate' || s.field === 'shared_expert_gate'; };
  let admitted = 0;
  const admit = (t: { name: string; shape: number[]; dtype: string }, file: string) => {
    const full = isFull(t.name), cols = t.shape.at(-1)!;
    const n = format && !full ? matrixBytes(format, t.shape.reduce((a, d) => a * d, 1) / cols, cols) : heldBy(t, full);
    if (admitted + n > maxWeightBytes) {
      const params = countParameters(config).total;
      throw new CheckpointError('too-large', file,
        `${bytes(n)} as ${full ? 'float32' : format ?? (t.dtype === 'F32' ? 'float32' : t.dtype)} (shape [${t.shape}]) would bring the weights held to ${bytes(admitted + n)}, over the ${bytes(maxWeightBytes)} this engine holds (the model has ${params.toPrecision(3)} parameters)`, t.name);
    }
    admitted += n;
  };
  // A dense layer (Qwen's mlp_only_layers, decoder_sparse_step) has no router and no experts.
  // Made as their first tensor arrives: by then readTensors has checked the config's counts
  // against the files, so a config claiming 1e8 layers or 5e7 experts allocates nothing for them.
  const layers: CpuWeights['layers'] = [];
  const layerAt = (l: number) => (layers[l] ??= (isMoeLayer(config.family, l)
    ? { experts: Array.from({ length: config.num_local_experts }, () => ({})) }
    : { experts: [], gate: new Float32Array(0) }) as unknown as CpuWeights['layers'][number]);
  const model: Partial<CpuWeights> = {};
  const found = new Set<string>();
  const report: Partial<TensorReadReport> = {};
  for await (const t of readTensors(source, { config, admit, onProgress, signal, report })) {
    const s = specOf(t.name);
    found.add(t.name);
    // Vectors and the router at full width; every other matrix as stored, or in `format`.
    let value: WeightMatrix = isFull(t.name) ? toFloat32(t) : keep(t);
    if (format && !isFull(t.name)) {
      if (s.scope === 'layer' && (s.field === 'experts_input_linear' || s.field === 'experts_output_linear')) {
        // Granite's fused experts: each expert's slices converted now, the fused tensor let go.
        convertFused(config, layerAt(s.layer), s.field, value, format);
        continue;
      }
      value = convertMatrix(value, s.shape[0], s.shape[1], format);
    }
    if (s.scope === 'model') (model as Record<string, unknown>)[s.field] = value;
    else if (s.scope === 'layer') (layerAt(s.layer) as unknown as Record<string, unknown>)[s.field] = value;
    else (layerAt(s.layer).experts[s.expert] as Record<string, unknown>)[s.field] = value;
  }
  const { plan, dtypeBytes, unusedTensors, unusedCount } = report as TensorReadReport;
  checkAllPresent(config, plan, (name) => found.has(name), found.size);
  for (const l of layers) {
    if (!format && l.experts_input_linear && l.experts_output_linear) l.experts = fusedExpertViews(config, l.experts_input_linear, l.experts_output_linear, sliceMatrix);
  }
  const weights: CpuWeights = { embed_tokens: model.embed_tokens!, layers, norm: model.norm as Float32Array, lm_head: model.lm_head ?? model.embed_tokens! };
  return {
    label: source.label, config, weights, tokenizerJson,
    files: [CONFIG_FILE, ...plan.files, ...(tokenizerJson !== null ? [TOKENIZER_FILE] : [])],
    dtypeBytes, heldBytes: weightsBytesHeld(weights), unusedTensors, unusedCount,
  };
}

/** One of Granite's fused tensors, (E, 2F, D) gate and up or (E, D, F) down, cut per expert and converted. */
function convertFused(c: MixtralConfig, layer: CpuWeights['layers'][number], field: 'experts_input_linear' | 'experts_output_linear', m: WeightMatrix, format: WeightFormat): void {
  const D = c.hidden_size, F = c.intermediate_size, n = F * D;
  layer.experts.forEach((expert, e) => {
    // Per expert: F gate rows, then F up rows (tensor-specs.ts fusedExpertViews); then (D, F) down.
    if (field === 'experts_input_linear') {
      expert.w1 = convertMatrix(sliceMatrix(m, 2 * e * n, (2 * e + 1) * n), F, D, format);
      expert.w3 = convertMatrix(sliceMatrix(m, (2 * e + 1) * n, (2 * e + 2) * n), F, D, format);
    } else expert.w2 = convertMatrix(sliceMatrix(m, e * n, (e + 1) * n), D, F, format);
  });
}

// The weights on the GPU, laid out by the tensor table (checkpoint/tensor-specs.ts) before any
// weight arrives, then filled one tensor at a time with queue.writeBuffer: from float32 arrays in
// memory (`uploadWeights`) or from a stream of stored tensors (`uploadTensors`: readTensors'
// output), each converted in chunks of rows, written to its final buffer and dropped, so a
// streamed load holds one tensor and a chunk, never the model.
// The big matrices are stored in the engine's format (f32, f16, q8, q4: weight-layout.ts); the
// rows the table marks f32 (norms, router), vectors (biases) and one-row gates stay f32. Each
// field is one storage buffer, except (V, D) tables, stored as parts of whole vocabulary rows,
// and a layer's experts, stacked as parts of whole experts, each part under the binding limit
// (split.ts); any other tensor over the limit is an error naming it.
import type { MixtralConfig } from '../config.ts';
import type { ExpertTensor, LayerTensor, MixtralWeights, TensorSpec } from '../weights.ts';
import type { WeightFormat } from '../footprint/formats.ts';
import { QUANT_GROUP } from '../footprint/formats.ts';
import { eachTensorSpec, tensorOf, tensorTable } from '../checkpoint/tensor-specs.ts';
import { checkAllPresent, type WeightPlan } from '../checkpoint/checkpoint-files.ts';
import { decodeInto, DTYPE_BYTES } from '../checkpoint/dtype.ts';
import type { StoredTensor } from '../checkpoint/tensor-reader.ts';
import { quantizeRows } from '../quant/quantize.ts';
import { GpuError, createEmpty } from './gpu.ts';
import { packF16 } from './f16.ts';
import { splitRows, type Part } from './split.ts';
import { fitsFormat, partLayout, rowValueBytes } from './weight-layout.ts';

/** How the big matrices were stored before q8/q4: packed halves or f32. */
export type WeightDtype = 'f16' | 'f32';

/** A layer: its own tensors in one buffer each, w1, w3 (E, F, D) and w2 (E, D, F) in parts of whole experts. */
export type GpuLayer = Record<LayerTensor, GPUBuffer> & Record<ExpertTensor, Part[]>;

/**
 * embed_tokens and lm_head (V, D) in parts of whole vocabulary rows (the same parts when the
 * embeddings are tied); norm (D); `format`: how the big matrices are stored.
 */
export interface GpuWeights { embed_tokens: Part[]; layers: GpuLayer[]; norm: GPUBuffer; lm_head: Part[]; format: WeightFormat }

/** Output bytes converted per writeBuffer: bounds the conversion's memory for any tensor size. */
const CHUNK_BYTES = 4 * 2 ** 20;

/** Where a tensor goes: parts of `unit` rows per part row (1 for vocabulary rows, F or D for experts), from row `row0`. */
interface Destination { parts: Part[]; unit: number; row0: number; format: WeightFormat }

/** A tensor's values, whatever it arrives as: float32 in memory, or stored bytes from a checkpoint. */
type Source = Float32Array | StoredTensor;

/** Whether the table keeps this tensor in f32 whatever the engine's format. */
function keptF32(c: MixtralConfig, spec: TensorSpec): boolean {
  const row = tensorTable(c).find((t) => t.scope === spec.scope && t.field === spec.field);
  return row?.f32 === true || spec.shape.length === 1 || spec.field === 'shared_expert_gate';
}

/** (rows, cols) of a tensor: cols its last dimension. */
const matrixShape = (shape: readonly number[]) => {
  const cols = shape[shape.length - 1], total = shape.reduce((a, b) => a * b, 1);
  return { rows: total / cols, cols };
};

/**
 * The weights' buffers, made empty for every tensor `c` needs (stored as `format`, none above
 * `limit` bytes; on an error, such as a tensor too large for this device, what was made so far
 * is destroyed), and filled by `write`, one tensor at a time, in any order.
 */
export class WeightWriter {
  readonly weights: GpuWeights;
  private readonly made: GPUBuffer[] = [];
  private readonly written = new Set<string>();
  private readonly dest = new Map<string, Destination>();

  constructor(private readonly device: GPUDevice, private readonly c: MixtralConfig, format: WeightFormat, private readonly limit: number) {
    const model: Partial<GpuWeights> = { format };
    const layers = Array.from({ length: c.num_hidden_layers }, () => ({}) as Record<string, GPUBuffer | Part[]>);
    try {
      for (const spec of eachTensorSpec(c)) {
        const f = keptF32(c, spec) ? 'f32' : format;
        const { rows, cols } = matrixShape(spec.shape);
        if (!fitsFormat(f, cols)) throw new GpuError(`${spec.name}: rows of ${cols} values cannot be stored as ${f} (${f === 'f16' || f === 'f32' ? 'pairs' : `groups of ${QUANT_GROUP}`})`);
        if (spec.scope === 'expert') {
          // All experts of a layer in parts of whole experts, made with expert 0.
          if (spec.expert === 0) layers[spec.layer][spec.field] = this.parts(`layer ${spec.layer} ${spec.field}`, c.num_local_experts, rows, cols, f);
          this.dest.set(spec.name, { parts: layers[spec.layer][spec.field] as Part[], unit: rows, row0: spec.expert * rows, format: f });
        } else if (spec.scope === 'layer' || spec.field === 'norm') {
          const label = spec.scope === 'layer' ? `layer ${spec.layer} ${spec.field}` : spec.field;
          const [part] = this.parts(label, 1, rows, cols, f, true);
          if (spec.scope === 'layer') layers[spec.layer][spec.field] = part.buffer;
          else model.norm = part.buffer;
          this.dest.set(spec.name, { parts: [part], unit: rows, row0: 0, format: f });
        } else {
          const parts = this.parts(spec.field, rows, 1, cols, f);
          model[spec.field as 'embed_tokens' | 'lm_head'] = parts;
          this.dest.set(spec.name, { parts, unit: 1, row0: 0, format: f });
        }
      }
    } catch (e) {
      this.destroy();
      throw e;
    }
    // Tied embeddings: lm_head reads the embedding's buffers.
    model.lm_head ??= model.embed_tokens;
    this.weights = { ...(model as GpuWeights), layers: layers as unknown as GpuLayer[] };
  }

  /** `units` units of `rows` rows each, in parts of whole units under the limit (`whole`: one buffer or an error). */
  private parts(label: string, units: number, rows: number, cols: number, format: WeightFormat, whole = false): Part[] {
    const limit = this.limit;
    const unitBytes = partLayout(format, rows, cols).bytes;
    if (whole && unitBytes > limit) {
      throw new GpuError(`${label}: ${unitBytes} bytes exceeds this device's ${limit}-byte limit per buffer (maxStorageBufferBindingSize/maxBufferSize); this model cannot run on this adapter`);
    }
    // Layouts round each region up to 16 bytes: split on the unit's bytes, then check the whole part's.
    return splitRows(label, units, unitBytes, limit).map(({ row0, rows: n }) => {
      const bytes = partLayout(format, n * rows, cols).bytes;
      const buffer = createEmpty(this.device, n === units ? label : `${label} rows ${row0}..${row0 + n - 1}`, bytes);
      this.made.push(buffer);
      return { buffer, row0, rows: n };
    });
  }

  /** Convert and write tensor `spec` (whole) from `src`. */
  write(spec: TensorSpec, src: Source): void {
    const d = this.dest.get(spec.name);
    if (!d) throw new GpuError(`${spec.name}: no such tensor in this model`);
    const { rows, cols } = matrixShape(spec.shape);
    const rowsOf = rowReader(src, cols);
    const layoutRows = (p: Part) => p.rows * d.unit;
    // Rows per chunk: even (quantized scales are halves written as u32 pairs), at least 2.
    const chunk = Math.max(2, 2 * Math.floor(CHUNK_BYTES / Math.max(1, rowValueBytes(d.format, cols)) / 2));
    for (const p of d.parts) {
      const first = p.row0 * d.unit, end = first + layoutRows(p);
      const a = Math.max(first, d.row0), b = Math.min(end, d.row0 + rows);
      if (a >= b) continue;
      const layout = partLayout(d.format, layoutRows(p), cols);
      for (let r = a; r < b; r += chunk) {
        const n = Math.min(chunk, b - r), local = r - first, tensorRow = r - d.row0;
        this.writeRows(p.buffer, layout, d.format, local, n, cols, (i, out) => rowsOf(tensorRow + i, out), src, tensorRow);
      }
    }
    this.written.add(spec.name);
  }

  private writeRows(buffer: GPUBuffer, layout: ReturnType<typeof partLayout>, format: WeightFormat, local: number, n: number, cols: number,
    row: (i: number, out: Float32Array) => void, src: Source, tensorRow: number): void {
    const q = this.device.queue;
    const rowBytes = rowValueBytes(format, cols);
    if (format === 'f16' && !(src instanceof Float32Array) && src.dtype === 'F16') {
      // Stored halves are the packed pairs already: written as they are.
      q.writeBuffer(buffer, local * rowBytes, src.bytes as Uint8Array<ArrayBuffer>, tensorRow * rowBytes, n * rowBytes);
      return;
    }
    if (format === 'f32' || format === 'f16') {
      const values = new Float32Array(n * cols), x = new Float32Array(cols);
      for (let i = 0; i < n; i++) { row(i, x); values.set(x, i * cols); }
      const data = format === 'f32' ? values : packF16(values);
      q.writeBuffer(buffer, local * rowBytes, data.buffer, data.byteOffset, data.byteLength);
      return;
    }
    const m = quantizeRows(format, n, cols, row);
    const G = cols / QUANT_GROUP;
    q.writeBuffer(buffer, local * rowBytes, m.q.buffer, m.q.byteOffset, m.q.byteLength);
    const halves = (h: Uint16Array, offset: number) => {
      // Whole u32 words: an odd count of halves gets a zero pad (the region is padded to 16 bytes).
      const words = new Uint16Array(h.length + (h.length & 1));
      words.set(h);
      q.writeBuffer(buffer, offset + 2 * local * G, words.buffer, 0, words.byteLength);
    };
    halves(m.scale, layout.scaleOffset);
    if (m.min) halves(m.min, layout.minOffset);
  }

  /** Throws, naming the first missing tensor, unless every tensor was written. */
  checkComplete(plan: WeightPlan = { files: [], weightMap: new Map() }): void {
    checkAllPresent(this.c, plan, (name) => this.written.has(name), this.written.size);
  }

  /** Destroy every buffer made (an upload that failed). */
  destroy(): void {
    for (const b of this.made) b.destroy();
  }
}

/** Row r of a tensor as float32, from memory or from stored bytes. */
function rowReader(src: Source, cols: number): (r: number, out: Float32Array) => void {
  if (src instanceof Float32Array) return (r, out) => { out.set(src.subarray(r * cols, (r + 1) * cols)); };
  const size = DTYPE_BYTES[src.dtype];
  return (r, out) => decodeInto(src.bytes.subarray(r * cols * size, (r + 1) * cols * size), src.dtype, out, 0);
}

/** Upload `w` (float32, in memory), storing the big matrices as `format`, no buffer above `limit` bytes. */
export function uploadWeights(device: GPUDevice, c: MixtralConfig, w: MixtralWeights, format: WeightFormat, limit: number): GpuWeights {
  const writer = new WeightWriter(device, c, format, limit);
  try {
    for (const spec of eachTensorSpec(c)) writer.write(spec, tensorOf(w, spec));
  } catch (e) {
    writer.destroy();
    throw e;
  }
  return writer.weights;
}

export interface StreamUploadOptions {
  /** The files' plan (readTensors' report), for the message naming a missing tensor. */
  plan?: () => WeightPlan | undefined;
  /** Called after each tensor is on its way to the GPU. */
  onTensor?: (t: StoredTensor) => void;
}

/**
 * Upload a stream of stored tensors (readTensors(source, { config: c })) as they arrive: each is
 * converted, written to its final buffer and released before the next is read. Every tensor `c`
 * needs must come; what was uploaded is destroyed on any error.
 */
export async function uploadTensors(device: GPUDevice, c: MixtralConfig, tensors: AsyncIterable<StoredTensor>, format: WeightFormat, limit: number, options: StreamUploadOptions = {}): Promise<GpuWeights> {
  const writer = new WeightWriter(device, c, format, limit);
  const specs = new Map<string, TensorSpec>();
  for (const s of eachTensorSpec(c, { optional: true })) specs.set(s.name, s);
  try {
    for await (const t of tensors) {
      const spec = specs.get(t.name);
      // A tied checkpoint that still stores lm_head: the model reads the embeddings.
      if (!spec || (spec.field === 'lm_head' && c.tie_word_embeddings)) continue;
      writer.write(spec, t);
      options.onTensor?.(t);
      // Let the queue take the staged bytes before the next tensor is read, so staging never piles up.
      await device.queue.onSubmittedWorkDone();
    }
    writer.checkComplete(options.plan?.());
  } catch (e) {
    writer.destroy();
    throw e;
  }
  return writer.weights;
}

/** Every buffer of one layer. */
export function layerBuffers(l: GpuLayer): GPUBuffer[] {
  return Object.values(l as Record<string, GPUBuffer | Part[]>).flatMap((v) => (Array.isArray(v) ? v.map((p) => p.buffer) : [v]));
}

/** Every buffer of the uploaded weights (once each), to destroy them. */
export function weightBuffers(w: GpuWeights): GPUBuffer[] {
  const buffers = (parts: Part[]) => parts.map((p) => p.buffer);
  return [...new Set([...buffers(w.embed_tokens), w.norm, ...buffers(w.lm_head), ...w.layers.flatMap(layerBuffers)])];
}

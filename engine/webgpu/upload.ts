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
// The families' own tensors (family.ts) go where their kernels read them (GpuFamilyLayer): the
// q, k and v biases packed in one buffer, Granite's fused experts cut into the same per-expert
// parts as every other family's experts as they are written.
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

/**
 * A layer's tensors that only some families have (family.ts), where its family and the layer's kind
 * need them: the q, k, v biases as one f32 buffer ((H + 2 Hkv) Dh: the qkv kernel's one binding
 * for them), o_proj's bias and the q/k norms (f32), Qwen2-MoE's shared expert (an expert every
 * token chooses: w1, w3 (Fs, D), w2 (D, Fs) in the engine's format, and its gate (D) f32) and a
 * dense layer's MLP (w1, w3 (Fd, D), w2 (D, Fd)).
 */
export interface GpuFamilyLayer {
  qkv_bias?: GPUBuffer;
  o_proj_bias?: GPUBuffer;
  q_norm?: GPUBuffer;
  k_norm?: GPUBuffer;
  shared?: { w1: GPUBuffer; w3: GPUBuffer; w2: GPUBuffer; gate: GPUBuffer };
  mlp?: { w1: GPUBuffer; w3: GPUBuffer; w2: GPUBuffer };
}

/**
 * A layer: its own tensors in one buffer each, w1, w3 (E, F, D) and w2 (E, D, F) in parts of
 * whole experts (none in a dense layer), and its family's tensors.
 */
export type GpuLayer = Record<LayerTensor, GPUBuffer> & Record<ExpertTensor, Part[]> & { family: GpuFamilyLayer };

/** The q, k and v biases' places in their layer's one bias buffer, in floats. */
const QKV_BIAS = ['q_proj_bias', 'k_proj_bias', 'v_proj_bias'] as const;

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
  /** Vectors written at an offset (bytes) of a buffer they share: the q/k/v biases. */
  private readonly packed = new Map<string, { buffer: GPUBuffer; offset: number }>();
  /** Granite's fused gate-and-up tensors (E, 2F, D): each expert's F gate rows go to w1, its F up rows to w3. */
  private readonly fusedGateUp = new Map<string, { w1: Destination; w3: Destination }>();

  constructor(private readonly device: GPUDevice, private readonly c: MixtralConfig, format: WeightFormat, private readonly limit: number) {
    const model: Partial<GpuWeights> = { format };
    const layers = Array.from({ length: c.num_hidden_layers }, () => ({}) as Record<string, GPUBuffer | Part[]>);
    try {
      for (const spec of eachTensorSpec(c)) {
        const f = keptF32(c, spec) ? 'f32' : format;
        const { rows, cols } = matrixShape(spec.shape);
        if (!fitsFormat(f, cols)) throw new GpuError(`${spec.name}: rows of ${cols} values cannot be stored as ${f} (${f === 'f16' || f === 'f32' ? 'pairs' : `groups of ${QUANT_GROUP}`})`);
        if (spec.scope === 'layer' && (QKV_BIAS as readonly string[]).includes(spec.field)) {
          // One f32 buffer for a layer's three biases, made with the first.
          const H = c.num_attention_heads * c.head_dim, KV = c.num_key_value_heads * c.head_dim;
          const at = [0, H, H + KV][QKV_BIAS.indexOf(spec.field as (typeof QKV_BIAS)[number])];
          const layer = layers[spec.layer];
          if (!layer.qkv_bias) { layer.qkv_bias = createEmpty(device, `layer ${spec.layer} qkv bias`, 4 * (H + 2 * KV)); this.made.push(layer.qkv_bias); }
          this.packed.set(spec.name, { buffer: layer.qkv_bias as GPUBuffer, offset: 4 * at });
        } else if (spec.scope === 'layer' && (spec.field === 'experts_input_linear' || spec.field === 'experts_output_linear')) {
          // Granite's fused experts, stored as every family's: w1, w3 (E, F, D) and w2 (E, D, F) in parts of whole experts.
          const E = c.num_local_experts, F = c.intermediate_size, D = c.hidden_size, l = spec.layer;
          if (spec.field === 'experts_input_linear') {
            const w1 = layers[l].w1 = this.parts(`layer ${l} w1`, E, F, D, f), w3 = layers[l].w3 = this.parts(`layer ${l} w3`, E, F, D, f);
            this.fusedGateUp.set(spec.name, { w1: { parts: w1, unit: F, row0: 0, format: f }, w3: { parts: w3, unit: F, row0: 0, format: f } });
          } else {
            const w2 = layers[l].w2 = this.parts(`layer ${l} w2`, E, D, F, f);
            this.dest.set(spec.name, { parts: w2, unit: D, row0: 0, format: f });
          }
        } else if (spec.scope === 'expert') {
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
    this.weights = { ...(model as GpuWeights), layers: layers.map(withFamily) };
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
    const packed = this.packed.get(spec.name);
    if (packed) {
      const { cols } = matrixShape(spec.shape), values = new Float32Array(cols);
      rowReader(src, cols)(0, values);
      this.device.queue.writeBuffer(packed.buffer, packed.offset, values.buffer, 0, values.byteLength);
      this.written.add(spec.name);
      return;
    }
    const fused = this.fusedGateUp.get(spec.name);
    if (fused) {
      const F = this.c.intermediate_size, D = this.c.hidden_size, rowsOf = rowReader(src, D);
      for (let e = 0; e < this.c.num_local_experts; e++) {
        this.fill({ ...fused.w1, row0: e * F }, F, D, rowsOf, src, 2 * e * F);
        this.fill({ ...fused.w3, row0: e * F }, F, D, rowsOf, src, (2 * e + 1) * F);
      }
      this.written.add(spec.name);
      return;
    }
    const d = this.dest.get(spec.name);
    if (!d) throw new GpuError(`${spec.name}: no such tensor in this model`);
    const { rows, cols } = matrixShape(spec.shape);
    this.fill(d, rows, cols, rowReader(src, cols), src, 0);
    this.written.add(spec.name);
  }

  /** Rows [srcRow0, srcRow0 + rows) of `src` into `d` (from its row0), converted in chunks of rows. */
  private fill(d: Destination, rows: number, cols: number, rowsOf: (r: number, out: Float32Array) => void, src: Source, srcRow0: number): void {
    const layoutRows = (p: Part) => p.rows * d.unit;
    // Rows per chunk: even (quantized scales are halves written as u32 pairs), at least 2.
    const chunk = Math.max(2, 2 * Math.floor(CHUNK_BYTES / Math.max(1, rowValueBytes(d.format, cols)) / 2));
    for (const p of d.parts) {
      const first = p.row0 * d.unit, end = first + layoutRows(p);
      const a = Math.max(first, d.row0), b = Math.min(end, d.row0 + rows);
      if (a >= b) continue;
      const layout = partLayout(d.format, layoutRows(p), cols);
      for (let r = a; r < b; r += chunk) {
        const n = Math.min(chunk, b - r), local = r - first, tensorRow = srcRow0 + r - d.row0;
        this.writeRows(p.buffer, layout, d.format, local, n, cols, (i, out) => rowsOf(tensorRow + i, out), src, tensorRow);
      }
    }
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
  const { family, ...own } = l;
  const f = family;
  const familyBuffers = [f.qkv_bias, f.o_proj_bias, f.q_norm, f.k_norm, ...(f.shared ? Object.values(f.shared) : []), ...(f.mlp ? Object.values(f.mlp) : [])];
  return [
    ...Object.values(own as Record<string, GPUBuffer | Part[]>).flatMap((v) => (Array.isArray(v) ? v.map((p) => p.buffer) : [v])),
    ...familyBuffers.filter((b): b is GPUBuffer => b !== undefined),
  ];
}

/** A layer's buffers as written (by field), with its family's tensors moved to where their kernels read them. */
function withFamily(written: Record<string, GPUBuffer | Part[]>): GpuLayer {
  const { qkv_bias, o_proj_bias, q_norm, k_norm, shared_gate_proj, shared_up_proj, shared_down_proj, shared_expert_gate, mlp_gate_proj, mlp_up_proj, mlp_down_proj, ...own } =
    written as Record<string, GPUBuffer | undefined>;
  const family: GpuFamilyLayer = { qkv_bias, o_proj_bias, q_norm, k_norm };
  if (shared_gate_proj && shared_up_proj && shared_down_proj && shared_expert_gate) family.shared = { w1: shared_gate_proj, w3: shared_up_proj, w2: shared_down_proj, gate: shared_expert_gate };
  if (mlp_gate_proj && mlp_up_proj && mlp_down_proj) family.mlp = { w1: mlp_gate_proj, w3: mlp_up_proj, w2: mlp_down_proj };
  return { ...(own as unknown as GpuLayer), family };
}

/** Every buffer of the uploaded weights (once each), to destroy them. */
export function weightBuffers(w: GpuWeights): GPUBuffer[] {
  const buffers = (parts: Part[]) => parts.map((p) => p.buffer);
  return [...new Set([...buffers(w.embed_tokens), w.norm, ...buffers(w.lm_head), ...w.layers.flatMap(layerBuffers)])];
}

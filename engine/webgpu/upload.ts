// The weights on the GPU, uploaded by the tensor table (checkpoint/tensor-specs.ts): the same
// fields as MixtralWeights, each in one storage buffer, except where a tensor may exceed one
// binding. The big matrices are packed halves ('f16', exact for F16 checkpoints) or f32; the
// tensors the table marks f32 (norms, router) always stay f32. (V, D) tables are stored as
// parts of whole vocabulary rows and a layer's experts stacked as parts of whole experts, each
// part under the binding limit (split.ts); any other tensor over the limit is an error naming it.
import type { ExpertTensor, LayerTensor, MixtralWeights } from '../weights.ts';
import { MIXTRAL_TENSORS, tensorTemplate, type TensorTemplate } from '../checkpoint/tensor-specs.ts';
import { GpuError, createStorage } from './gpu.ts';
import { packF16 } from './f16.ts';
import { splitRows, type Part } from './split.ts';

/** How the big matrices are stored: packed halves or f32. */
export type WeightDtype = 'f16' | 'f32';

/** A layer: its own tensors in one buffer each, w1, w3 (E, F, D) and w2 (E, D, F) in parts of whole experts. */
export type GpuLayer = Record<LayerTensor, GPUBuffer> & Record<ExpertTensor, Part[]>;

/** embed_tokens and lm_head (V, D) in parts of whole vocabulary rows; norm (D). */
export interface GpuWeights { embed_tokens: Part[]; layers: GpuLayer[]; norm: GPUBuffer; lm_head: Part[] }

/**
 * Upload `w`, storing the big matrices as `dtype`, no buffer above `limit` bytes. On an error
 * (a tensor too large for this device) what was uploaded so far is destroyed.
 */
export function uploadWeights(device: GPUDevice, w: MixtralWeights, dtype: WeightDtype, limit: number): GpuWeights {
  const made: GPUBuffer[] = [];
  const bytesOf = (t: TensorTemplate) => (t.f32 || dtype === 'f32' ? 4 : 2);
  const store = (t: TensorTemplate, label: string, a: Float32Array) => {
    const b = createStorage(device, label, bytesOf(t) === 4 ? a : packF16(a));
    made.push(b);
    return b;
  };
  /** One buffer for the whole tensor. */
  const whole = (t: TensorTemplate, label: string, a: Float32Array): GPUBuffer => {
    const bytes = a.length * bytesOf(t);
    if (bytes > limit) {
      throw new GpuError(`${label}: ${bytes} bytes exceeds this device's ${limit}-byte limit per buffer (maxStorageBufferBindingSize/maxBufferSize); this model cannot run on this adapter`);
    }
    return store(t, label, a);
  };
  /** A (rows, cols) tensor given as its rows, in parts of whole rows under the limit. */
  const parts = (t: TensorTemplate, label: string, rows: Float32Array[]): Part[] =>
    splitRows(label, rows.length, rows[0].length * bytesOf(t), limit).map(({ row0, rows: n }) => {
      const a = new Float32Array(n * rows[0].length);
      for (let r = 0; r < n; r++) a.set(rows[row0 + r], r * rows[0].length);
      return { buffer: store(t, n === rows.length ? label : `${label} rows ${row0}..${row0 + n - 1}`, a), row0, rows: n };
    });
  const D = w.norm.length;
  const vocabRows = (a: Float32Array) => Array.from({ length: a.length / D }, (_, v) => a.subarray(v * D, (v + 1) * D));
  try {
    return {
      embed_tokens: parts(tensorTemplate('embed_tokens'), 'embed_tokens', vocabRows(w.embed_tokens)),
      norm: whole(tensorTemplate('norm'), 'norm', w.norm),
      lm_head: parts(tensorTemplate('lm_head'), 'lm_head', vocabRows(w.lm_head)),
      layers: w.layers.map((lw, l) => {
        // Every field is set: the table lists each tensor of a layer and of its experts.
        const layer = {} as GpuLayer;
        for (const t of MIXTRAL_TENSORS) {
          if (t.scope === 'layer') layer[t.field] = whole(t, `layer ${l} ${t.field}`, lw[t.field]);
          if (t.scope === 'expert') layer[t.field] = parts(t, `layer ${l} ${t.field}`, lw.experts.map((e) => e[t.field]));
        }
        return layer;
      }),
    };
  } catch (e) {
    for (const b of made) b.destroy();
    throw e;
  }
}

/** Every buffer of one layer. */
export function layerBuffers(l: GpuLayer): GPUBuffer[] {
  return MIXTRAL_TENSORS.flatMap((t) => (t.scope === 'layer' ? [l[t.field]] : t.scope === 'expert' ? l[t.field].map((p) => p.buffer) : []));
}

/** Every buffer of the uploaded weights, to destroy them. */
export function weightBuffers(w: GpuWeights): GPUBuffer[] {
  const buffers = (parts: Part[]) => parts.map((p) => p.buffer);
  return [...buffers(w.embed_tokens), w.norm, ...buffers(w.lm_head), ...w.layers.flatMap(layerBuffers)];
}

// The weights on the GPU, uploaded by the tensor table (checkpoint/tensor-specs.ts): the same
// fields as MixtralWeights, each in one storage buffer, except where a tensor may exceed one
// binding. The big matrices are packed halves ('f16', exact for F16 checkpoints) or f32; the
// tensors the table marks f32 (norms, router) always stay f32. (V, D) tables are stored as
// parts of whole vocabulary rows and a layer's experts stacked as parts of whole experts, each
// part under the binding limit (split.ts); any other tensor over the limit is an error naming it.
// The families' own tensors (biases, q/k norms, the shared expert, a dense layer's MLP) are
// uploaded beside them, each in one buffer (familyLayer).
import type { ExpertTensor, LayerTensor, LayerWeights, MixtralWeights } from '../weights.ts';
import { MIXTRAL_TENSORS, tensorTemplate, type TensorTemplate } from '../checkpoint/tensor-specs.ts';
import { GpuError, createStorage } from './gpu.ts';
import { packF16 } from './f16.ts';
import { splitRows, type Part } from './split.ts';

/** How the big matrices are stored: packed halves or f32. */
export type WeightDtype = 'f16' | 'f32';

/**
 * A layer's tensors that only some families have (family.ts), where its family and the layer's kind
 * need them: the q, k, v biases as one f32 buffer ((H + 2 Hkv) Dh: the qkv kernel's one binding
 * for them), o_proj's bias and the q/k norms (f32), Qwen2-MoE's shared expert (an expert every
 * token chooses: w1, w3 (Fs, D), w2 (D, Fs), and its gate (D) f32) and a dense layer's MLP (w1,
 * w3 (Fd, D), w2 (D, Fd)).
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
  const parts = (t: TensorTemplate, label: string, rows: Float32Array[]): Part[] => rows.length === 0 ? [] :
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
        layer.family = familyLayer(lw, l, whole);
        return layer;
      }),
    };
  } catch (e) {
    for (const b of made) b.destroy();
    throw e;
  }
}

/** The family's tensors of layer `lw` that it has (f32: small vectors; matrices as `whole` stores them). */
function familyLayer(lw: LayerWeights, l: number, whole: (t: TensorTemplate, label: string, a: Float32Array) => GPUBuffer): GpuFamilyLayer {
  const f32 = { f32: true } as TensorTemplate, matrix = {} as TensorTemplate;
  const out: GpuFamilyLayer = {};
  if (lw.q_proj_bias && lw.k_proj_bias && lw.v_proj_bias) {
    const bias = new Float32Array(lw.q_proj_bias.length + 2 * lw.k_proj_bias.length);
    bias.set(lw.q_proj_bias);
    bias.set(lw.k_proj_bias, lw.q_proj_bias.length);
    bias.set(lw.v_proj_bias, lw.q_proj_bias.length + lw.k_proj_bias.length);
    out.qkv_bias = whole(f32, `layer ${l} qkv bias`, bias);
  }
  if (lw.o_proj_bias) out.o_proj_bias = whole(f32, `layer ${l} o_proj_bias`, lw.o_proj_bias);
  if (lw.q_norm && lw.k_norm) {
    out.q_norm = whole(f32, `layer ${l} q_norm`, lw.q_norm);
    out.k_norm = whole(f32, `layer ${l} k_norm`, lw.k_norm);
  }
  if (lw.shared_gate_proj && lw.shared_up_proj && lw.shared_down_proj && lw.shared_expert_gate) {
    out.shared = {
      w1: whole(matrix, `layer ${l} shared_gate_proj`, lw.shared_gate_proj), w3: whole(matrix, `layer ${l} shared_up_proj`, lw.shared_up_proj),
      w2: whole(matrix, `layer ${l} shared_down_proj`, lw.shared_down_proj), gate: whole(f32, `layer ${l} shared_expert_gate`, lw.shared_expert_gate),
    };
  }
  if (lw.mlp_gate_proj && lw.mlp_up_proj && lw.mlp_down_proj) {
    out.mlp = {
      w1: whole(matrix, `layer ${l} mlp_gate_proj`, lw.mlp_gate_proj), w3: whole(matrix, `layer ${l} mlp_up_proj`, lw.mlp_up_proj),
      w2: whole(matrix, `layer ${l} mlp_down_proj`, lw.mlp_down_proj),
    };
  }
  return out;
}

/** Every buffer of one layer. */
export function layerBuffers(l: GpuLayer): GPUBuffer[] {
  const f = l.family;
  const family = [f.qkv_bias, f.o_proj_bias, f.q_norm, f.k_norm, ...(f.shared ? Object.values(f.shared) : []), ...(f.mlp ? Object.values(f.mlp) : [])];
  return [
    ...MIXTRAL_TENSORS.flatMap((t) => (t.scope === 'layer' ? [l[t.field]] : t.scope === 'expert' ? l[t.field].map((p) => p.buffer) : [])),
    ...family.filter((b): b is GPUBuffer => b !== undefined),
  ];
}

/** Every buffer of the uploaded weights, to destroy them. */
export function weightBuffers(w: GpuWeights): GPUBuffer[] {
  const buffers = (parts: Part[]) => parts.map((p) => p.buffer);
  return [...buffers(w.embed_tokens), w.norm, ...buffers(w.lm_head), ...w.layers.flatMap(layerBuffers)];
}

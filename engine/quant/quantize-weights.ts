// A model's weights in a chosen format for the CPU engine: every matrix (embeddings, attention,
// experts, lm_head) in f32, f16, q8 or q4; norms and the router's gate stay float32 (the gate is
// tiny, and routing is what people study). Converts one row at a time from whatever width the
// weights have.
import { floatToHalf } from '../webgpu/f16.ts';
import type { WeightFormat } from '../footprint/formats.ts';
import { rowOf, type CpuLayerWeights, type CpuWeights, type WeightMatrix } from '../cpu/stored-weights.ts';
import { quantizeRows } from './quantize.ts';
import type { MixtralConfig } from '../config.ts';

/** The largest finite half (values up to it round to finite halves). */
const F16_MAX = 65504;

export function convertMatrix(w: WeightMatrix, rows: number, cols: number, format: WeightFormat): WeightMatrix {
  const row = (r: number, out: Float32Array) => { rowOf(w, r, cols, out); };
  if (format === 'q8' || format === 'q4') return quantizeRows(format, rows, cols, row);
  const x = new Float32Array(cols);
  if (format === 'f32') {
    // Already float32: kept, not copied (weights are never written to).
    if (w instanceof Float32Array) return w;
    const out = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) out.set(rowOf(w, r, cols, x), r * cols);
    return out;
  }
  if (!(w instanceof Float32Array) && !('format' in w) && w.dtype === 'F16') return w;
  const words = new Uint16Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    rowOf(w, r, cols, x);
    for (let i = 0; i < cols; i++) {
      // A bfloat16 or float32 weight past f16's range would become infinity, and the model NaN.
      if (Math.abs(x[i]) > F16_MAX && Number.isFinite(x[i])) throw new RangeError(`a weight of ${x[i].toPrecision(4)} (row ${r}, column ${i}) is beyond f16's range (±${F16_MAX}): keep this model in f32, q8 or q4`);
      words[r * cols + i] = floatToHalf(x[i]);
    }
  }
  return { dtype: 'F16', words };
}

/**
 * `w` with its matrices in `format` (sizes from the config's letters: V, D, F, H*Dh, Hkv*Dh, and
 * the family's shared-expert width Fs and dense-MLP width Fd). Granite-MoE's fused expert tensors
 * are converted through their per-expert views and not kept.
 */
export function convertWeights(w: CpuWeights, c: MixtralConfig, format: WeightFormat): CpuWeights {
  const V = c.vocab_size, D = c.hidden_size, F = c.intermediate_size, Q = c.num_attention_heads * c.head_dim, KV = c.num_key_value_heads * c.head_dim;
  const Fs = c.family.shared_expert_intermediate_size ?? 0, Fd = c.family.dense_intermediate_size ?? 0;
  const opt = (m: WeightMatrix | undefined, rows: number, cols: number) => (m ? convertMatrix(m, rows, cols, format) : undefined);
  const embed = convertMatrix(w.embed_tokens, V, D, format);
  const layers: CpuLayerWeights[] = w.layers.map(({ experts_input_linear: _fusedIn, experts_output_linear: _fusedOut, ...l }) => ({
    ...l,
    q_proj: convertMatrix(l.q_proj, Q, D, format),
    k_proj: convertMatrix(l.k_proj, KV, D, format),
    v_proj: convertMatrix(l.v_proj, KV, D, format),
    o_proj: convertMatrix(l.o_proj, D, Q, format),
    shared_gate_proj: opt(l.shared_gate_proj, Fs, D), shared_up_proj: opt(l.shared_up_proj, Fs, D), shared_down_proj: opt(l.shared_down_proj, D, Fs),
    mlp_gate_proj: opt(l.mlp_gate_proj, Fd, D), mlp_up_proj: opt(l.mlp_up_proj, Fd, D), mlp_down_proj: opt(l.mlp_down_proj, D, Fd),
    experts: l.experts.map((e) => ({ w1: convertMatrix(e.w1, F, D, format), w2: convertMatrix(e.w2, D, F, format), w3: convertMatrix(e.w3, F, D, format) })),
  }));
  return { embed_tokens: embed, layers, norm: w.norm, lm_head: w.lm_head === w.embed_tokens ? embed : convertMatrix(w.lm_head, V, D, format) };
}

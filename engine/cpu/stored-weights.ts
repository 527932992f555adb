// The CPU engine's weights kept at the width the checkpoint stores them: a matrix is either a
// Float32Array or the F16/BF16 words themselves, decoded one row at a time as a product needs it
// (exactly: every half and bfloat16 is a float32), so a 16-bit checkpoint takes about its file's
// size in memory rather than twice it. Vectors (norms) and the router's gate are always float32:
// they are small, and the router is what people study.
// Dimension letters as in ../weights.ts.
import { halfTable } from '../checkpoint/dtype.ts';
import { dequantRow, quantBytes, type QuantMatrix } from '../quant/quantize.ts';
import type { LayerWeights, MixtralWeights } from '../weights.ts';
import { silu } from './ops.ts';

/** A (rows, cols) matrix as its checkpoint stores it: little-endian 16-bit words, row-major. */
export interface HalfMatrix { readonly dtype: 'F16' | 'BF16'; readonly words: Uint16Array }

/** A weight matrix as the CPU engine reads it: float32, stored halves, or 8-/4-bit groups (../quant/). */
export type WeightMatrix = Float32Array | HalfMatrix | QuantMatrix;

type Matrices = 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj';
/** The matrices only some families have (../weights.ts FamilyLayerWeights). */
export type FamilyMatrix =
  | 'shared_gate_proj' | 'shared_up_proj' | 'shared_down_proj'
  | 'mlp_gate_proj' | 'mlp_up_proj' | 'mlp_down_proj'
  | 'experts_input_linear' | 'experts_output_linear';
export interface CpuLayerWeights extends Omit<LayerWeights, Matrices | FamilyMatrix | 'experts'> {
  q_proj: WeightMatrix; k_proj: WeightMatrix; v_proj: WeightMatrix; o_proj: WeightMatrix;
  experts: { w1: WeightMatrix; w2: WeightMatrix; w3: WeightMatrix }[];
  shared_gate_proj?: WeightMatrix; shared_up_proj?: WeightMatrix; shared_down_proj?: WeightMatrix;
  mlp_gate_proj?: WeightMatrix; mlp_up_proj?: WeightMatrix; mlp_down_proj?: WeightMatrix;
  experts_input_linear?: WeightMatrix; experts_output_linear?: WeightMatrix;
}

/** MixtralWeights with its matrices at stored width (a MixtralWeights is one, all float32). */
export interface CpuWeights {
  embed_tokens: WeightMatrix; // (V, D)
  layers: CpuLayerWeights[];
  norm: Float32Array;         // (D)
  lm_head: WeightMatrix;      // (V, D)
}

// Compile-time check that float32 weights are CPU weights.
const _float32IsCpu: (w: MixtralWeights) => CpuWeights = (w) => w;
void _float32IsCpu;

/** Row `r` (of `cols` values) of `w`, as float32 into `out` (which it returns). */
export function rowOf(w: WeightMatrix, r: number, cols: number, out: Float32Array): Float32Array {
  if (w instanceof Float32Array) { out.set(w.subarray(r * cols, (r + 1) * cols)); return out; }
  if ('format' in w) return dequantRow(w, r, out);
  // The words are little-endian halves already (dtype.ts decodes for any byte order when loading
  // float32; here a platform's own order is little-endian wherever a browser runs).
  const words = w.words, o = r * cols;
  if (w.dtype === 'F16') {
    const table = halfTable();
    for (let i = 0; i < cols; i++) out[i] = table[words[o + i]];
  } else {
    // bfloat16 is the top half of a float32.
    const bits = new Uint32Array(out.buffer, out.byteOffset, cols);
    for (let i = 0; i < cols; i++) bits[i] = words[o + i] << 16;
  }
  return out;
}

/**
 * Elements [begin, end) of a float32 or 16-bit matrix, without copying (granitemoe's fused
 * experts are cut into per-expert views this way). Quantized matrices are never fused: convert after.
 */
export function sliceMatrix(w: WeightMatrix, begin: number, end: number): WeightMatrix {
  if (w instanceof Float32Array) return w.subarray(begin, end);
  if ('format' in w) throw new Error('sliceMatrix: a quantized matrix is converted per expert, never sliced');
  return { dtype: w.dtype, words: w.words.subarray(begin, end) };
}

/** Bytes a matrix holds. */
export const matrixBytesHeld = (w: WeightMatrix): number => (w instanceof Float32Array ? w.byteLength : 'format' in w ? quantBytes(w) : w.words.byteLength);

/**
 * Bytes a model's weights hold: every tensor once. Tied embeddings are one matrix, and Granite's
 * fused experts count once, not again through the per-expert views cut from them.
 */
export function weightsBytesHeld(w: CpuWeights): number {
  let n = matrixBytesHeld(w.embed_tokens) + w.norm.byteLength + (w.lm_head === w.embed_tokens ? 0 : matrixBytesHeld(w.lm_head));
  for (const l of w.layers) {
    for (const [field, m] of Object.entries(l)) if (field !== 'experts' && m) n += matrixBytesHeld(m as WeightMatrix);
    if (!l.experts_input_linear) for (const e of l.experts) n += matrixBytesHeld(e.w1) + matrixBytesHeld(e.w2) + matrixBytesHeld(e.w3);
  }
  return n;
}

/**
 * out (T, N) = x (T, In) @ w(N, In)^T at stored width. A 16-bit row is decoded once for all T
 * tokens; each dot product adds in the same order as the float32 matmul, so the results are
 * bit for bit those of the float32 engine on the decoded weights.
 */
export function matmulStored(out: Float32Array, x: Float32Array, w: WeightMatrix, T: number, In: number, N: number): void {
  const row = new Float32Array(In);
  const f32 = w instanceof Float32Array;
  for (let n = 0; n < N; n++) {
    const wr = f32 ? w.subarray(n * In, (n + 1) * In) : rowOf(w, n, In, row);
    for (let t = 0; t < T; t++) {
      const xo = t * In;
      let s = 0;
      for (let i = 0; i < In; i++) s += x[xo + i] * wr[i];
      out[t * N + n] = s;
    }
  }
}

/**
 * A SwiGLU MLP on T rows at stored width: out (T, D) = down(silu(gate x) * up x), gate and up
 * (F, D), down (D, F). The shared expert and a dense layer's MLP are this.
 */
export function swigluStored(out: Float32Array, x: Float32Array, gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix, T: number, D: number, F: number): void {
  const g = new Float32Array(T * F), u = new Float32Array(T * F);
  matmulStored(g, x, gate, T, D, F);
  matmulStored(u, x, up, T, D, F);
  for (let i = 0; i < T * F; i++) g[i] = silu(g[i]) * u[i];
  matmulStored(out, g, down, T, F, D);
}

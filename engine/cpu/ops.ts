// The numerical building blocks of the CPU reference, each a plain loop over Float32Array.
// Accumulation is in float64 (JavaScript numbers), results are stored as float32.

/** out (T, N) = x (T, In) @ w(N, In)^T — an nn.Linear without bias, HF weight layout [out, in]. */
export function matmul(out: Float32Array, x: Float32Array, w: Float32Array, T: number, In: number, N: number): void {
  for (let t = 0; t < T; t++) {
    const xo = t * In;
    for (let n = 0; n < N; n++) {
      const wo = n * In;
      let s = 0;
      for (let i = 0; i < In; i++) s += x[xo + i] * w[wo + i];
      out[t * N + n] = s;
    }
  }
}

/** out (T, N) += bias (N): the bias of an nn.Linear, where a family's projection has one. */
export function addBias(out: Float32Array, bias: Float32Array | undefined, T: number, N: number): void {
  if (!bias) return;
  for (let t = 0; t < T; t++) for (let n = 0; n < N; n++) out[t * N + n] += bias[n];
}

/** RMSNorm per row: x * rsqrt(mean(x^2) + eps) * w. */
export function rmsnorm(out: Float32Array, x: Float32Array, w: Float32Array, T: number, D: number, eps: number): void {
  for (let t = 0; t < T; t++) {
    const o = t * D;
    let ss = 0;
    for (let i = 0; i < D; i++) ss += x[o + i] * x[o + i];
    // HF computes the scale in float32: round it the same way before multiplying.
    const scale = Math.fround(1 / Math.sqrt(ss / D + eps));
    for (let i = 0; i < D; i++) out[o + i] = w[i] * Math.fround(x[o + i] * scale);
  }
}

/**
 * Rotary embedding, rotate-half convention, in place on (T, heads, Dh) starting at absolute
 * position `pos0`: for i < Dh/2, (x_i, x_{i+Dh/2}) is rotated by angle pos * theta^(-2i/Dh).
 */
export function rope(x: Float32Array, T: number, heads: number, Dh: number, pos0: number, theta: number): void {
  const half = Dh / 2;
  for (let t = 0; t < T; t++) {
    const pos = pos0 + t;
    for (let i = 0; i < half; i++) {
      const invFreq = Math.fround(1 / Math.pow(theta, (2 * i) / Dh));
      const angle = Math.fround(pos * invFreq);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      for (let h = 0; h < heads; h++) {
        const o = (t * heads + h) * Dh;
        const a = x[o + i];
        const b = x[o + i + half];
        x[o + i] = a * c - b * s;
        x[o + i + half] = b * c + a * s;
      }
    }
  }
}

/** Numerically stable softmax of x[offset .. offset+n) in place; -Infinity entries become 0. */
export function softmaxInPlace(x: Float32Array, offset: number, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (x[offset + i] > max) max = x[offset + i];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = x[offset + i] === -Infinity ? 0 : Math.exp(x[offset + i] - max);
    x[offset + i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) x[offset + i] /= sum;
}

export function silu(v: number): number {
  return v / (1 + Math.exp(-v));
}

export function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

/** x *= s in place (a no-op for 1, the value every family but Granite has). */
export function scaleInPlace(x: Float32Array, s: number): void {
  if (s !== 1) for (let i = 0; i < x.length; i++) x[i] *= s;
}

/** out += x (both length n). */
export function addInPlace(out: Float32Array, x: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] += x[i];
}

/**
 * Indices of the k largest values of x[offset .. offset+n), largest first; ties go to the lower
 * index, as torch.topk does on CPU for these small sizes.
 */
export function topk(x: ArrayLike<number>, offset: number, n: number, k: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => x[offset + b] - x[offset + a] || a - b);
  return idx.slice(0, k);
}

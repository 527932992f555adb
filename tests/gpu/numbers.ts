// Numbers the GPU parity tests share: seeded inputs and the error measures they assert on.
import { expect } from 'vitest';

/** Seeded normal-ish floats (mulberry32 + Box-Muller), rounded to float32. */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 2 ** 32;
  };
  return Float32Array.from({ length: n }, () => scale * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

/** Largest error relative to max(1, |cpu|), element by element (lengths must match). */
export function parityError(gpu: ArrayLike<number>, cpu: ArrayLike<number>): number {
  expect(gpu.length).toBe(cpu.length);
  let err = 0;
  for (let i = 0; i < cpu.length; i++) err = Math.max(err, Math.abs(gpu[i] - cpu[i]) / Math.max(1, Math.abs(cpu[i])));
  return err;
}

/** Largest absolute difference, element by element (lengths must match). */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

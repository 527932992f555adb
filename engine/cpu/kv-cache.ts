// Keys and values of every position seen so far, per layer, so that decoding one token
// attends to the past without recomputing it. Shapes: (S, Hkv, Dh) per layer, S growing.

export class KVCache {
  /** Number of positions stored. */
  length = 0;
  private capacity = 0;
  k: Float32Array[];
  v: Float32Array[];

  constructor(readonly layers: number, readonly rowSize: number /* Hkv * Dh */, readonly maxPositions: number) {
    this.k = Array.from({ length: layers }, () => new Float32Array(0));
    this.v = Array.from({ length: layers }, () => new Float32Array(0));
  }

  /** Make room for `extra` more positions (amortised doubling) and return the first free slot. */
  reserve(extra: number): number {
    const need = this.length + extra;
    if (need > this.maxPositions) {
      throw new RangeError(`sequence of ${need} positions exceeds the model's max_position_embeddings (${this.maxPositions})`);
    }
    if (need > this.capacity) {
      const cap = Math.min(this.maxPositions, Math.max(need, this.capacity * 2, 64));
      for (let l = 0; l < this.layers; l++) {
        const k = new Float32Array(cap * this.rowSize); k.set(this.k[l]); this.k[l] = k;
        const v = new Float32Array(cap * this.rowSize); v.set(this.v[l]); this.v[l] = v;
      }
      this.capacity = cap;
    }
    return this.length;
  }

  /** Drop every position from `length` on (e.g. to re-run from a shorter prefix). */
  truncate(length: number): void {
    this.length = Math.min(this.length, Math.max(0, length));
  }
}

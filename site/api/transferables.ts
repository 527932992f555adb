// The typed arrays of a message, handed over as transferables so a step costs no copy.

/** Every distinct ArrayBuffer under `values` (a buffer may be listed once only). */
export function transferables(...values: unknown[]): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  const visit = (v: unknown): void => {
    if (!v || typeof v !== 'object') return;
    if (ArrayBuffer.isView(v)) { if (v.buffer instanceof ArrayBuffer) seen.add(v.buffer); return; }
    for (const x of Array.isArray(v) ? v : Object.values(v)) visit(x);
  };
  values.forEach(visit);
  return [...seen];
}

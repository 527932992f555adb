// Activation patches (hooks/interventions.ts: patch_activation) on the GPU, as a Replacement at
// hook points (capture.ts). The call's patches are written into one scratch buffer when the call
// begins (on the queue after every earlier call's work, before anything of this call); at a
// patched hook point each patch's D values are copied over its token's row of the hook's region,
// tensor.offset + row * 4D. capture.ts then runs the point's rerun, so what a fused kernel derived
// from the value before it was patched is computed again (after an attn_out patch, mid = x +
// attn_out; after an mlp_out patch, out = mid + mlp_out), as on the CPU, where the patch replaces
// the value before anything reads it. Copies bind nothing: patches never touch a planned dispatch.
import type { MixtralConfig } from '../config.ts';
import type { Intervention, PatchActivation } from '../hooks/interventions.ts';
import { copy, write, type Counters } from './gpu.ts';
import type { Replacement } from './capture.ts';

/**
 * The Replacement for the patches of `interventions` that fall in a call of T tokens from `pos0`,
 * or null when none does. `scratch` gives a storage buffer of at least `bytes` that this call may
 * overwrite.
 */
export function patchReplacement(
  device: GPUDevice, c: MixtralConfig, interventions: readonly Intervention[], call: { T: number; pos0: number },
  scratch: (label: string, bytes: number) => GPUBuffer, counters?: Counters,
): Replacement | null {
  const mine = interventions.filter((iv): iv is PatchActivation => iv.kind === 'patch_activation' && iv.position >= call.pos0 && iv.position < call.pos0 + call.T);
  if (!mine.length) return null;
  const D = c.hidden_size, values = new Float32Array(mine.length * D);
  /** By full hook name, in the order given (a later patch of the same row wins, as on the CPU). */
  const rows = new Map<string, { row: number; offset: number }[]>();
  mine.forEach((iv, i) => {
    values.set(iv.values, i * D);
    const name = `blocks.${iv.layer}.${iv.hook}`;
    rows.set(name, [...(rows.get(name) ?? []), { row: iv.position - call.pos0, offset: 4 * i * D }]);
  });
  const buffer = scratch('patch values', values.byteLength);
  write(device, buffer, 0, values, counters);
  return {
    names: new Set(rows.keys()),
    steps: (hook, tensor) => (rows.get(hook) ?? []).map(({ row, offset }) => copy(buffer, offset, tensor.buffer, tensor.offset + 4 * row * D, 4 * D)),
  };
}

// The layer picker of notebooks, for models whose layers do not all route: a dense layer (Qwen's
// mlp_only_layers / decoder_sparse_step) has no router and no experts, so a routing view, an
// intervention or an analysis of it has nothing to show. Where every layer routes (Mixtral, OLMoE,
// Granite) the picker is the slider it always was; otherwise a menu of the layers that route, its
// label naming the dense ones.
import * as Inputs from '@observablehq/inputs';
import { moeLayerIndices } from '../../engine/family.ts';
import type { MixtralConfig } from '../../engine/config.ts';

export interface LayerInputOptions { label?: string; value?: number }

/** The sparse layer nearest `value` (the earlier one on a tie). */
export function nearestSparse(sparse: readonly number[], value: number): number {
  return sparse.reduce((best, l) => (Math.abs(l - value) < Math.abs(best - value) ? l : best), sparse[0] ?? 0);
}

export function layerInput(config: Pick<MixtralConfig, 'num_hidden_layers' | 'family'>, { label = 'Layer', value = 0 }: LayerInputOptions = {}): HTMLElement {
  const L = config.num_hidden_layers;
  const sparse = moeLayerIndices(config);
  if (sparse.length === L || sparse.length === 0) return Inputs.range([0, L - 1], { label, step: 1, value: Math.max(0, Math.min(L - 1, value)) });
  const dense = Array.from({ length: L }, (_, l) => l).filter((l) => !sparse.includes(l));
  const named = `${label} (layer${dense.length > 1 ? 's' : ''} ${dense.join(', ')} dense, no router)`;
  return Inputs.select(sparse, { label: named, value: nearestSparse(sparse, value), format: (l: number) => `layer ${l}` });
}

// Empty data for each view, so a notebook can draw a view before the first token arrives and
// then only call update() (the view shows its one-line hint until there is something to draw).
import type { AttentionData, NextTokenData, RoutingData } from './types.ts';

export function emptyRouting(experts: number, topK: number): RoutingData {
  return { tokens: [], experts, topK, layers: [] };
}

export function emptyAttention(layer: number, heads: number, kvHeads: number, slidingWindow: number | null): AttentionData {
  return { tokens: [], layer, heads, kvHeads, pattern: new Float32Array(0), slidingWindow };
}

export function emptyNextToken(): NextTokenData {
  return { position: -1, candidates: [] };
}

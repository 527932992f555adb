// Layout of routing across layers: first-choice flows between consecutive layers, placed as a
// Sankey diagram (node height ~ tokens, ribbons stacked so they never cross inside a node).
import type { RoutingData } from './types.ts';

export interface FlowNode { layer: number; expert: number; count: number; y0: number; y1: number }
export interface Ribbon { layer: number; source: number; target: number; count: number; sy0: number; sy1: number; ty0: number; ty1: number }

/** (L, E) first-choice counts per layer. */
export function firstChoiceCounts(data: RoutingData): number[][] {
  const { experts: E, topK: K } = data;
  return data.layers.map((L) => {
    const c = new Array<number>(E).fill(0);
    for (let t = 0; t < data.tokens.length; t++) c[L.indices[t * K]]++;
    return c;
  });
}

/** (L-1, E, E) tokens whose first choice is a in layer l and b in layer l+1. */
export function firstChoiceFlows(data: RoutingData): number[][][] {
  const { experts: E, topK: K } = data;
  const flows: number[][][] = [];
  for (let l = 0; l + 1 < data.layers.length; l++) {
    const m = Array.from({ length: E }, () => new Array<number>(E).fill(0));
    const a = data.layers[l].indices, b = data.layers[l + 1].indices;
    for (let t = 0; t < data.tokens.length; t++) m[a[t * K]][b[t * K]]++;
    flows.push(m);
  }
  return flows;
}

/**
 * Place nodes and ribbons in [0, height]. Experts keep their order top to bottom in every layer
 * (E0 first) so a reader finds an expert at the same place across layers; a node's height is its
 * share of tokens; `gap` separates nodes. Outgoing ribbons are stacked in target order and
 * incoming ones in source order, which is what keeps them from crossing inside a node.
 */
export function sankeyLayout(counts: number[][], flows: number[][][], height: number, gap: number): { nodes: FlowNode[]; ribbons: Ribbon[] } {
  const E = counts[0]?.length ?? 0;
  const nodes: FlowNode[] = [];
  counts.forEach((c, layer) => {
    const total = c.reduce((s, v) => s + v, 0);
    const k = total ? (height - gap * (E - 1)) / total : 0;
    let y = 0;
    c.forEach((count, expert) => { nodes.push({ layer, expert, count, y0: y, y1: y + count * k }); y += count * k + gap; });
  });
  const node = (l: number, e: number) => nodes[l * E + e];
  const ribbons: Ribbon[] = [];
  flows.forEach((m, layer) => {
    const out = Array.from({ length: E }, (_, e) => node(layer, e).y0);
    const inn = Array.from({ length: E }, (_, e) => node(layer + 1, e).y0);
    const k = (e: number) => { const n = node(layer, e); return n.count ? (n.y1 - n.y0) / n.count : 0; };
    const kt = (e: number) => { const n = node(layer + 1, e); return n.count ? (n.y1 - n.y0) / n.count : 0; };
    for (let a = 0; a < E; a++) for (let b = 0; b < E; b++) {
      const count = m[a][b];
      if (!count) continue;
      const sh = count * k(a);
      ribbons.push({ layer, source: a, target: b, count, sy0: out[a], sy1: out[a] + sh, ty0: 0, ty1: 0 });
      out[a] += sh;
    }
    // Incoming stacks in source order: walk sources outer, which the ribbons list already is for a fixed b.
    for (let b = 0; b < E; b++) for (const r of ribbons) {
      if (r.layer !== layer || r.target !== b) continue;
      const th = r.count * kt(b);
      r.ty0 = inn[b]; r.ty1 = inn[b] + th; inn[b] += th;
    }
  });
  return { nodes, ribbons };
}

/** A ribbon between two vertical intervals as a closed path of two cubic curves. */
export function ribbonPath(x0: number, x1: number, r: Pick<Ribbon, 'sy0' | 'sy1' | 'ty0' | 'ty1'>): string {
  const xm = (x0 + x1) / 2;
  return `M${x0},${r.sy0}C${xm},${r.sy0} ${xm},${r.ty0} ${x1},${r.ty0}L${x1},${r.ty1}C${xm},${r.ty1} ${xm},${r.sy1} ${x0},${r.sy1}Z`;
}

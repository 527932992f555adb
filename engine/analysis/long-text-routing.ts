// Routing of a text longer than the model reads at once: overlapping windows, each token's
// experts taken from a window where it has at least `context` tokens before it (except at the
// start of the text), so no token is routed without the context it would normally have.
import type { Engine } from '../engine.ts';
import type { ExpertChoice } from '../hooks/request.ts';

export interface LongTextRouting {
  /** Per layer, (N, K) chosen experts. */
  indices: Int32Array[];
  windows: number;
}

export async function routeLongText(engine: Engine, ids: readonly number[], o: { window?: number; context?: number; onWindow?: (done: number, total: number) => void } = {}): Promise<LongTextRouting> {
  const c = engine.config;
  const window = Math.min(o.window ?? c.max_position_embeddings, c.max_position_embeddings);
  const context = Math.min(o.context ?? c.sliding_window ?? Math.floor(window / 4), Math.floor(window / 2));
  const K = c.num_experts_per_tok;
  const N = ids.length;
  const indices = Array.from({ length: c.num_hidden_layers }, () => new Int32Array(N * K));
  const starts: number[] = [0];
  while (starts[starts.length - 1] + window < N) starts.push(starts[starts.length - 1] + window - context);
  for (let w = 0; w < starts.length; w++) {
    const s = starts[w];
    const chunk = ids.slice(s, Math.min(N, s + window));
    const r = await engine.forward(chunk, { hooks: ['blocks.*.moe.hook_expert_choice'] });
    // Tokens from `keep` on are taken from this window; earlier ones came from the previous one.
    const keep = w === 0 ? 0 : context;
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const choice = r.hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice;
      indices[l].set(choice.indices.subarray(keep * K), (s + keep) * K);
    }
    o.onWindow?.(w + 1, starts.length);
  }
  return { indices, windows: starts.length };
}

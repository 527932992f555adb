// The routing and attention hook values of one forward call, per layer, as the page needs them.
import type { MixtralConfig } from '../../engine/config.ts';
import type { ExpertChoice, HookTensor, HookValue } from '../../engine/hooks/request.ts';
import type { LayerStep, RawHook } from './protocol.ts';

export function routingHooks(attention: boolean): string[] {
  const names = ['blocks.*.moe.hook_router_probs', 'blocks.*.moe.hook_expert_choice'];
  if (attention) names.push('blocks.*.attn.hook_pattern');
  return names;
}

export function layerSteps(config: MixtralConfig, hooks: Map<string, HookValue>, attention: boolean): LayerStep[] {
  const out: LayerStep[] = [];
  for (let l = 0; l < config.num_hidden_layers; l++) {
    const choice = hooks.get(`blocks.${l}.moe.hook_expert_choice`) as ExpertChoice | undefined;
    const probs = hooks.get(`blocks.${l}.moe.hook_router_probs`) as HookTensor | undefined;
    if (!choice || !probs) throw new Error(`the engine did not return the routing of layer ${l}`);
    const step: LayerStep = { indices: choice.indices, weights: choice.weights, probs: probs.data };
    if (attention) {
      const p = hooks.get(`blocks.${l}.attn.hook_pattern`) as HookTensor | undefined;
      if (!p) throw new Error(`the engine did not return the attention pattern of layer ${l}`);
      step.pattern = p.data;
    }
    out.push(step);
  }
  return out;
}

/** Hook values the caller asked for by name, as plain records. */
export function rawHooks(hooks: Map<string, HookValue>, names: ReadonlySet<string>): Record<string, RawHook> {
  const out: Record<string, RawHook> = {};
  for (const [name, v] of hooks) {
    if (!names.has(name)) continue;
    out[name] = 'data' in v ? { shape: v.shape, data: v.data } : { shape: v.shape, data: v.indices, weights: v.weights };
  }
  return out;
}

/** The typed arrays of a payload, to hand over as transferables (deduplicated: a buffer may appear once). */
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

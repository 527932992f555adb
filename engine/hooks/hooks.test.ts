import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../cpu/engine.ts';
import { HOOK_POINTS, hookNames, hookShape, hookSpec } from './names.ts';
import { patternToRegExp, type ExpertChoice, type HookTensor } from './request.ts';
import { randomWeights, tinyConfig } from '../../tests/helpers/random-model.ts';
import { RequestError } from '../errors.ts';

const config = tinyConfig();
const engine = new CpuEngine(config, randomWeights(config));
const ids = [1, 5, 9, 13, 17, 21, 25, 29];

describe('hook names', () => {
  it('lists every point once per layer, in forward order', () => {
    const names = hookNames(config);
    expect(names[0]).toBe('hook_embed');
    expect(names.at(-1)).toBe('hook_logits');
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('blocks.1.moe.hook_router_logits');
    // Mixtral has every point but those of other families' parts (q/k norms, shared expert).
    const mixtralPoints = HOOK_POINTS.filter((p) => p.only !== 'qk_norm' && p.only !== 'shared_expert');
    expect(names.length).toBe(3 + config.num_hidden_layers * (mixtralPoints.length - 3));
    for (const n of names) expect(hookSpec(n), n).toBeDefined();
  });

  it('globs match across dots', () => {
    expect(patternToRegExp('blocks.*.moe.*').test('blocks.3.moe.hook_router_logits')).toBe(true);
    expect(patternToRegExp('blocks.*.moe.*').test('blocks.3.attn.hook_pattern')).toBe(false);
    expect(patternToRegExp('hook_logits').test('xhook_logits')).toBe(false);
  });
});

describe('observing hooks', () => {
  it('caches every hook point with the shape the table promises', async () => {
    const session = engine.createSession();
    await session.forward(ids.slice(0, 5));
    const r = await session.forward(ids.slice(5), { hooks: ['*'] });
    const T = 3, S = 8;
    expect([...r.hooks.keys()].sort()).toEqual(hookNames(config).sort());
    for (const [name, v] of r.hooks) {
      const shape = hookShape(name, config, T, S);
      expect(v.shape, name).toEqual(shape);
      const n = shape.reduce((a, b) => a * b, 1);
      if ('data' in v) expect(v.data.length, name).toBe(n);
      else { expect(v.indices.length).toBe(n); expect(v.weights.length).toBe(n); }
    }
  });

  it('captures nothing that was not asked for', async () => {
    const r = await engine.forward(ids, { hooks: ['blocks.0.moe.hook_router_logits'] });
    expect([...r.hooks.keys()]).toEqual(['blocks.0.moe.hook_router_logits']);
    const none = await engine.forward(ids);
    expect(none.hooks.size).toBe(0);
  });

  it('rejects a name that matches no hook point', async () => {
    await expect(engine.forward(ids, { hooks: ['blocks.9.moe.hook_router_logits'] })).rejects.toThrow(RequestError);
    await expect(engine.forward(ids, { hooks: ['blocks.0.moe.hook_nope'] })).rejects.toThrow(/matches no hook point/);
  });

  it('attention patterns are causal, windowed rows that sum to 1', async () => {
    const r = await engine.forward(ids, { hooks: ['blocks.0.attn.hook_pattern'] });
    const p = r.hooks.get('blocks.0.attn.hook_pattern') as HookTensor;
    const [H, T, S] = p.shape;
    for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) {
      let sum = 0;
      for (let j = 0; j < S; j++) {
        const v = p.data[(h * T + i) * S + j];
        const visible = j <= i && i - j < config.sliding_window!;
        if (!visible) expect(v).toBe(0); else expect(v).toBeGreaterThan(0);
        sum += v;
      }
      expect(sum).toBeCloseTo(1, 5);
    }
  });
});

describe('interventions', () => {
  const choiceOf = async (req: Parameters<typeof engine.forward>[1]) =>
    (await engine.forward(ids, { ...req, hooks: ['blocks.1.moe.hook_expert_choice', 'blocks.1.moe.hook_router_probs'] }));

  it('an ablated expert is never chosen and top-k comes from the rest', async () => {
    const base = await choiceOf({});
    const used = (base.hooks.get('blocks.1.moe.hook_expert_choice') as ExpertChoice).indices[0];
    const r = await choiceOf({ interventions: [{ kind: 'ablate_experts', layer: 1, experts: [used] }] });
    const c = r.hooks.get('blocks.1.moe.hook_expert_choice') as ExpertChoice;
    expect(Array.from(c.indices)).not.toContain(used);
    for (let t = 0; t < ids.length; t++) expect(c.weights[t * 2] + c.weights[t * 2 + 1]).toBeCloseTo(1, 6);
    expect((r.hooks.get('blocks.1.moe.hook_router_probs') as HookTensor).data[used]).toBe(0);
  });

  it('forcing experts routes the chosen positions to them', async () => {
    const r = await choiceOf({ interventions: [{ kind: 'force_experts', layer: 1, experts: [3, 0], positions: [2, 4] }] });
    const c = r.hooks.get('blocks.1.moe.hook_expert_choice') as ExpertChoice;
    expect([c.indices[4], c.indices[5]]).toEqual([3, 0]);
    expect([c.indices[8], c.indices[9]]).toEqual([3, 0]);
    expect(c.weights[4] + c.weights[5]).toBeCloseTo(1, 6);
  });

  it('a large router bias sends every token to that expert', async () => {
    const r = await choiceOf({ interventions: [{ kind: 'router_bias', layer: 1, bias: [0, 0, 50, 0] }] });
    const c = r.hooks.get('blocks.1.moe.hook_expert_choice') as ExpertChoice;
    for (let t = 0; t < ids.length; t++) expect(c.indices[t * 2]).toBe(2);
  });

  it('zeroing a head zeroes its slice of hook_z and changes the logits', async () => {
    const base = await engine.forward(ids);
    const r = await engine.forward(ids, { hooks: ['blocks.0.attn.hook_z'], interventions: [{ kind: 'zero_head', layer: 0, head: 1 }] });
    const z = r.hooks.get('blocks.0.attn.hook_z') as HookTensor;
    const [T, H, Dh] = z.shape;
    for (let t = 0; t < T; t++) for (let d = 0; d < Dh; d++) expect(z.data[(t * H + 1) * Dh + d]).toBe(0);
    expect(Array.from(r.logits)).not.toEqual(Array.from(base.logits));
  });

  it('a function hook can replace a tensor, and what it returns flows on', async () => {
    const r = await engine.forward(ids, {
      hooks: { observe: ['blocks.0.moe.hook_router_logits', 'blocks.0.moe.hook_expert_choice'], fns: {
        'blocks.0.moe.hook_router_logits': (v) => {
          const data = new Float32Array((v as HookTensor).data.length);
          for (let t = 0; t < ids.length; t++) data[t * 4 + 1] = 100;
          return { shape: v.shape, data };
        },
      } },
    });
    expect((r.hooks.get('blocks.0.moe.hook_router_logits') as HookTensor).data[1]).toBe(100);
    const c = r.hooks.get('blocks.0.moe.hook_expert_choice') as ExpertChoice;
    for (let t = 0; t < ids.length; t++) expect(c.indices[t * 2]).toBe(1);
  });

  it('a function hook returning the wrong shape is a clear error, and the session is unchanged', async () => {
    const session = engine.createSession();
    await expect(session.forward(ids, { hooks: { fns: { hook_embed: () => ({ shape: [1], data: new Float32Array(1) }) } } }))
      .rejects.toThrow(/returned shape \[1\] where \[8,16\] was expected/);
    expect(session.position).toBe(0);
  });

  it('bad interventions are rejected with what is wrong', async () => {
    await expect(engine.forward(ids, { interventions: [{ kind: 'ablate_experts', layer: 7, experts: [0] }] })).rejects.toThrow(/layer 7 is out of range/);
    await expect(engine.forward(ids, { interventions: [{ kind: 'ablate_experts', layer: 0, experts: [0, 1, 2] }] })).rejects.toThrow(/would keep 1 experts/);
    await expect(engine.forward(ids, { interventions: [{ kind: 'force_experts', layer: 0, experts: [1] }] })).rejects.toThrow(/exactly 2 experts/);
    await expect(engine.forward(ids, { interventions: [{ kind: 'router_bias', layer: 0, bias: [1] }] })).rejects.toThrow(/4 finite numbers/);
    await expect(engine.forward(ids, { interventions: [{ kind: 'zero_head', layer: 0, head: 4 }] })).rejects.toThrow(/head 4 is out of range/);
  });
});

import { describe, expect, it } from 'vitest';
import { CpuEngine } from './cpu/engine.ts';
import type { Engine, EngineSession, ForwardOutput } from './engine.ts';
import { generate, type GenerateOptions, type GenerateStep } from './generate.ts';
import { layerRouting, routingHooks } from './routing/routing.ts';
import { argmax } from './sampling.ts';
import { randomWeights, tinyConfig } from '../tests/helpers/random-model.ts';

const config = tinyConfig({ max_position_embeddings: 24 });
const cpu = new CpuEngine(config, randomWeights(config, 11));
const prompt = [1, 5, 9, 12];

/** The CPU engine, with a record of every session (disposed or not) and every output asked for. */
function watched(): Engine & { sessions: { disposed: boolean }[]; outputs: ForwardOutput[] } {
  const sessions: { disposed: boolean }[] = [];
  const outputs: ForwardOutput[] = [];
  return {
    backend: 'cpu', config, description: 'watched CPU', sessions, outputs,
    createSession(): EngineSession {
      const s = cpu.createSession();
      const rec = { disposed: false };
      sessions.push(rec);
      const dispose = () => { rec.disposed = true; s.dispose(); };
      return {
        get position() { return s.position; },
        forward: (ids, r) => { outputs.push(r?.output ?? 'last'); return s.forward(ids, r); },
        truncate: (n) => s.truncate(n),
        dispose, [Symbol.dispose]: dispose, [Symbol.asyncDispose]: async () => dispose(),
      };
    },
    forward: (ids, r) => cpu.forward(ids, r),
    dispose() {}, [Symbol.dispose]() {},
  };
}

async function all(engine: Engine, o: GenerateOptions, p: readonly number[] = prompt): Promise<GenerateStep[]> {
  const steps: GenerateStep[] = [];
  for await (const s of generate({ engine, prompt: p }, o)) steps.push(s);
  return steps;
}

describe('the generation loop', () => {
  it('gives greedy tokens equal to the argmax of a forward over the whole sequence, and asks the engine for the argmax alone', async () => {
    const engine = watched();
    const steps = await all(engine, { maxTokens: 6, stopAtEos: false });
    expect(steps.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(steps.at(-1)!.finish).toBe('length');
    expect(steps.slice(0, -1).every((s) => s.finish === undefined)).toBe(true);
    const ids = [...prompt, ...steps.map((s) => s.token)];
    const whole = await cpu.forward(ids, { output: 'all' });
    const V = config.vocab_size;
    steps.forEach((s, i) => expect(s.token).toBe(argmax(whole.logits.subarray((prompt.length + i - 1) * V, (prompt.length + i) * V))));
    expect(engine.outputs).toEqual(new Array(6).fill('argmax'));
    // The CPU engine keeps the logits it has in hand even when asked for the argmax alone.
    expect(steps.every((s) => s.logits.length === V)).toBe(true);
    expect(steps[1].position).toBe(prompt.length);
    expect(steps[1].inputIds).toEqual([steps[0].token]);
  });

  it('reads the logits when something needs them: sampling, candidates, or logits asked for', async () => {
    for (const o of [{ temperature: 0.8, seed: 2 }, { candidates: 3 }, { logits: true }]) {
      const engine = watched();
      const steps = await all(engine, { maxTokens: 2, stopAtEos: false, ...o });
      expect(engine.outputs).toEqual(['last', 'last']);
      expect(steps[0].logits.length).toBe(config.vocab_size);
    }
    const [first] = await all(cpu, { maxTokens: 1, candidates: 4 });
    expect(first.candidates.map((c) => c.id)[0]).toBe(first.token);
    expect(first.candidates).toHaveLength(4);
    const probs = first.candidates.map((c) => c.prob);
    expect(probs).toEqual([...probs].sort((a, b) => b - a));
  });

  it('samples reproducibly from a seed', async () => {
    const a = await all(cpu, { maxTokens: 8, temperature: 1.2, seed: 5, stopAtEos: false });
    const b = await all(cpu, { maxTokens: 8, temperature: 1.2, seed: 5, stopAtEos: false });
    expect(a.map((s) => s.token)).toEqual(b.map((s) => s.token));
  });

  it('ends with "context" when the window is full, with "length" when maxTokens comes first, and with "eos"', async () => {
    // 24 positions, a 4-token prompt: room for 20 tokens.
    const ctx = await all(cpu, { maxTokens: 50, stopAtEos: false, routeLast: true, routing: true });
    expect(ctx).toHaveLength(20);
    expect(ctx.at(-1)!.finish).toBe('context');
    // The closing forward routes the last token, at the window's last position.
    expect(ctx.at(-1)!.last!.position).toBe(23);
    expect(ctx.at(-1)!.last!.routing![0].indices.length).toBe(config.num_experts_per_tok);
    const exact = await all(cpu, { maxTokens: 20, stopAtEos: false });
    expect(exact.at(-1)!.finish).toBe('length');
    // End of sequence: the model's own eos id, forced by making it the greedy choice everywhere.
    const eosId = (await all(cpu, { maxTokens: 3, stopAtEos: false }))[2].token;
    const eos = await all(new CpuEngine({ ...config, eos_token_id: eosId }, cpu.weights), { maxTokens: 10 });
    expect(eos.at(-1)!.finish).toBe('eos');
    expect(eos.at(-1)!.token).toBe(eosId);
  });

  it('gives each step the routing of the tokens it fed, as one extraction of the same hooks gives it', async () => {
    const steps = await all(cpu, { maxTokens: 3, routing: { logits: true }, stopAtEos: false, hooks: ['blocks.0.hook_resid_post'] });
    const K = config.num_experts_per_tok, E = config.num_local_experts;
    expect(steps[0].routing).toHaveLength(config.num_hidden_layers);
    expect(steps[0].routing![1].indices.length).toBe(prompt.length * K);
    expect(steps[1].routing![1].probs.length).toBe(E);
    expect(steps[1].routing![0].logits!.length).toBe(E);
    expect(steps[0].hooks.has('blocks.0.hook_resid_post')).toBe(true);
    const ref = await cpu.forward(prompt, { hooks: routingHooks() });
    expect([...steps[0].routing![1].indices]).toEqual([...layerRouting(config, ref.hooks)[1].indices]);
  });

  it('stops between tokens once the signal is aborted: the next step is the last, "stopped"', async () => {
    const stop = new AbortController();
    const steps: GenerateStep[] = [];
    for await (const s of generate({ engine: cpu, prompt }, { maxTokens: 15, stopAtEos: false, signal: stop.signal })) {
      steps.push(s);
      if (steps.length === 2) stop.abort();
    }
    expect(steps).toHaveLength(3);
    expect(steps[2].finish).toBe('stopped');
    const none = await all(cpu, { maxTokens: 5, signal: AbortSignal.abort() });
    expect(none).toEqual([]);
  });

  it('disposes its session on every path: done, stopped, a consumer that breaks out, an error', async () => {
    const engine = watched();
    await all(engine, { maxTokens: 3 });
    const stop = new AbortController();
    for await (const s of generate({ engine, prompt }, { maxTokens: 9, signal: stop.signal })) if (s.index === 0) stop.abort();
    for await (const s of generate({ engine, prompt }, { maxTokens: 9 })) if (s.index === 1) break;
    const throwing = generate({ engine, prompt }, { maxTokens: 9, hooks: { fns: { 'blocks.0.hook_resid_post': (v, ctx) => { if (ctx.position > 5) throw new Error('hook failed'); return v; } } } });
    await expect((async () => { for await (const _ of throwing); })()).rejects.toThrow('hook failed');
    expect(engine.sessions).toHaveLength(4);
    expect(engine.sessions.every((s) => s.disposed)).toBe(true);
  });

  it('times each forward from before its call: an engine that computes inside the call (the CPU engine) is not reported as instant', async () => {
    const busy = (ms: number) => { const end = performance.now() + ms; while (performance.now() < end) { /* the forward's work */ } };
    const slow: Engine = {
      backend: 'cpu', config, description: 'a CPU engine that takes 15 ms a forward',
      createSession(): EngineSession {
        const s = cpu.createSession();
        return {
          get position() { return s.position; },
          forward: (ids, r) => { busy(15); return s.forward(ids, r); },
          truncate: (n) => s.truncate(n),
          dispose: () => s.dispose(), [Symbol.dispose]: () => s.dispose(), [Symbol.asyncDispose]: async () => s.dispose(),
        };
      },
      forward: (ids, r) => cpu.forward(ids, r),
      dispose() {}, [Symbol.dispose]() {},
    };
    const steps = await all(slow, { maxTokens: 4, stopAtEos: false });
    expect(steps.every((s) => s.ms >= 15)).toBe(true);
    expect(steps[3].tokensPerSecond).toBeLessThanOrEqual(1000 / 15);
  });

  it('reports decode tokens per second from the second step on', async () => {
    const steps = await all(cpu, { maxTokens: 4, stopAtEos: false });
    expect(steps[0].tokensPerSecond).toBe(0);
    expect(steps[3].tokensPerSecond).toBeGreaterThan(0);
    expect(steps.every((s) => s.ms >= 0)).toBe(true);
  });

  it('rejects empty, too long and impossible requests with clear errors, before opening a session', async () => {
    const engine = watched();
    await expect(all(engine, {}, [])).rejects.toThrow(/prompt is empty/);
    await expect(all(engine, {}, new Array(24).fill(3))).rejects.toThrow(/reads at most 23 before generating/);
    await expect(all(engine, { maxTokens: 0 })).rejects.toThrow(/positive integer/);
    await expect(all(engine, { candidates: -1 })).rejects.toThrow(/candidates/);
    await expect(generate({ engine, prompt: 'hello' }).next()).rejects.toThrow(/needs a tokenizer/);
    expect(engine.sessions).toHaveLength(0);
  });
});

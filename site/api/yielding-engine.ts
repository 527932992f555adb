// An engine whose every forward begins with a macrotask. The worker runs long requests (an expert
// report over many windows, patching's hundreds of runs) as one chain of awaited forwards; the CPU
// engine's forward never gives the event loop a turn, so a 'stop' message would wait for the whole
// request. Through this wrapper it is seen between two forwards. The wrapper owns nothing: its
// dispose() leaves the engine to its owner.
import type { Engine, EngineSession, ForwardRequest, ForwardResult } from '../../engine/engine.ts';

const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function yieldingSession(s: EngineSession): EngineSession {
  return {
    get position() { return s.position; },
    forward: async (ids: readonly number[], request?: ForwardRequest): Promise<ForwardResult> => { await nextTask(); return s.forward(ids, request); },
    truncate: (length: number) => s.truncate(length),
    dispose: () => s.dispose(),
    [Symbol.dispose]: () => s.dispose(),
    [Symbol.asyncDispose]: async () => s.dispose(),
  };
}

export function yieldingEngine(engine: Engine): Engine {
  return {
    backend: engine.backend,
    config: engine.config,
    description: engine.description,
    createSession: () => yieldingSession(engine.createSession()),
    forward: async (ids: readonly number[], request?: ForwardRequest): Promise<ForwardResult> => { await nextTask(); return engine.forward(ids, request); },
    dispose: () => {},
    [Symbol.dispose]: () => {},
  };
}

// The `mixscope` a notebook sees is a stream: a new API object each time a model finishes
// loading, so every cell that uses it re-runs on the new model (Observable generator semantics).
import type { MixscopeClient } from './client.ts';
import { createMixscopeApi, type MixscopeApi } from './mixscope.ts';
import type { ModelInfo } from './types.ts';

export function modelStream(client: MixscopeClient): () => AsyncGenerator<MixscopeApi, void, void> {
  return async function* () {
    let seen: ModelInfo | null = null;
    let wake: (() => void) | null = null;
    const off = client.onState(() => { const w = wake; wake = null; w?.(); });
    try {
      for (;;) {
        const info = client.state.info;
        // A backend change (GPU lost, CPU fallback) also gives a new object: cells redo their work.
        if (info && info !== seen) { seen = info; yield createMixscopeApi(client); continue; }
        await new Promise<void>((r) => { wake = r; });
      }
    } finally {
      off();
    }
  };
}

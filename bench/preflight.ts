// `npm run bench -- --preflight`: the adapter Dawn finds, its features and limits, as one line
// of JSON, before a long run; no adapter fails at once with the reason (exit code 2). The lent GPU
// machine runs it first (device/run.sh), so a missing driver costs seconds, not the session.
import { requestNodeAdapter } from '../engine/node-webgpu.ts';
import { adapterFacts, describeAdapter, isRealGpu } from './targets.ts';

export async function preflight(): Promise<boolean> {
  let adapter: GPUAdapter;
  try {
    adapter = await requestNodeAdapter();
  } catch (e) {
    process.stderr.write(`preflight: no WebGPU adapter: ${(e as Error).message}\n`);
    process.exitCode = 2;
    return false;
  }
  const facts = adapterFacts(adapter);
  const limits: Record<string, number> = {};
  for (const key in adapter.limits) {
    const v = (adapter.limits as unknown as Record<string, unknown>)[key];
    if (typeof v === 'number') limits[key] = v;
  }
  process.stdout.write(JSON.stringify({
    adapter: describeAdapter(facts), real_gpu: isRealGpu(facts), fallback: facts.fallback,
    subgroup_sizes: [adapter.info.subgroupMinSize, adapter.info.subgroupMaxSize],
    features: [...adapter.features].sort(), limits,
  }) + '\n');
  return true;
}

// What the bench measures against: whether the adapter is a real GPU (only then does it print
// PASS/FAIL), the memory bandwidth vendors publish for common GPUs, and the targets of issue 15.
// A software adapter (SwiftShader, a CPU emulation) says nothing about GPU speed: its figures are
// ratios within one run, checked by the "here" targets instead.

export interface AdapterFacts { vendor: string; architecture: string; description: string; fallback: boolean }

export function adapterFacts(adapter: GPUAdapter): AdapterFacts {
  const i = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return { vendor: i.vendor, architecture: i.architecture, description: i.description, fallback: !!i.isFallbackAdapter };
}

export const describeAdapter = (a: AdapterFacts) => [a.vendor, a.architecture, a.description].filter(Boolean).join(' ');

/** A real GPU: not a fallback adapter, not SwiftShader, llvmpipe or lavapipe. */
export function isRealGpu(a: AdapterFacts): boolean {
  return !a.fallback && !/swiftshader|llvmpipe|lavapipe|software/i.test(describeAdapter(a));
}

/** Published memory bandwidth (GB/s) of GPUs by name, as vendors state it; null when unknown. */
const PUBLISHED: [RegExp, number][] = [
  [/H200/i, 4800], [/H100.*(SXM|HBM3)/i, 3350], [/H100/i, 2000], [/A100.*80/i, 2039], [/A100/i, 1555],
  [/L40S?/i, 864], [/RTX 4090/i, 1008], [/RTX 3090/i, 936], [/A10G?\b/i, 600], [/T4\b/i, 320],
];
export function publishedBandwidth(a: AdapterFacts): number | null {
  const name = describeAdapter(a);
  return PUBLISHED.find(([re]) => re.test(name))?.[1] ?? null;
}

const line = (ok: boolean, what: string) => `${ok ? 'PASS' : 'FAIL'} ${what}`;

/** The real-GPU targets of the default model: >= 1,000 tokens/s without hooks, >= 300 with every hook, hooks <= 25%. */
export function modelTargets(noHooks: number, everyHook: number): string[] {
  const cost = 1 - everyHook / noHooks;
  return [
    line(noHooks >= 1000, `default model without hooks: ${noHooks} tokens/s (target >= 1000)`),
    line(everyHook >= 300, `default model with every hook observed: ${everyHook} tokens/s (target >= 300)`),
    line(cost <= 0.25, `every hook costs ${(100 * cost).toFixed(1)}% of no-hook throughput (target <= 25%)`),
  ];
}

/** The real-GPU target of scale mode: a Mixtral-8x7B layer at >= 50% of the measured roof. */
export function scaleTargets(fractionOfRoof: number): string[] {
  return [line(fractionOfRoof >= 0.5, `Mixtral-8x7B layer at ${(100 * fractionOfRoof).toFixed(1)}% of the measured read roof (target >= 50%)`)];
}

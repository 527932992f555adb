// npm run bench: the CPU and WebGPU engines side by side on the default model, in one run.
// `npm run bench -- --scale` runs scale mode instead (scale.ts); `--model DIR` benches another
// checkpoint (a golden fixture while the default model is training). Prints one JSON object:
// prefill tokens/s, decode tokens/s and ms per token, with no hooks and with every hook observed,
// greedy decode with the argmax on the GPU (only the token id read back), the WebGPU/CPU ratios
// and kernel times from timestamp queries. WebGPU runs on Dawn (SwiftShader when the
// machine has no GPU: a CPU emulation, so its absolute numbers say nothing about GPU speed).
//
// Napkin maths for decode: each token reads every active weight once. For the default model
// (F16) that is about 2 bytes x 5.2 M active parameters = 10 MB per token; at 1 TB/s of memory
// bandwidth the ceiling would be ~100k tokens/s, so real-GPU decode is bound by dispatch overhead.
import { loadModelDirectory } from '../engine/node.ts';
import { generate } from '../engine/generate.ts';
import { CpuEngine } from '../engine/cpu/engine.ts';
import { createNodeWebGpuEngine } from '../engine/node-webgpu.ts';
import type { Engine } from '../engine/engine.ts';
import { DEFAULT_MODEL_DIR } from '../engine/cli/commands.ts';
import { registerWgslLoader, requestNodeGpuDevice } from '../engine/node-webgpu.ts';

const PROMPT = 128, DECODE = 32, REPEAT = 2;

/**
 * Prefill of PROMPT tokens and greedy decode of DECODE more, through the one generation loop
 * (engine/generate.ts) that the CLI and the site use. With `greedyOnGpu` nothing needs the
 * logits, so the loop asks the engine for the argmax alone; otherwise every step reads them back.
 */
async function measure(engine: Engine, hooks: string[], greedyOnGpu = false, repeat = REPEAT) {
  const prompt = Array.from({ length: PROMPT }, (_, i) => 3 + ((i * 977) % (engine.config.vocab_size - 3)));
  let best = { prefill: Infinity, decode: Infinity };
  for (let r = 0; r < repeat; r++) {
    let prefill = 0, decode = 0;
    for await (const step of generate({ engine, prompt }, { maxTokens: DECODE + 1, temperature: 0, stopAtEos: false, hooks, logits: !greedyOnGpu })) {
      if (step.index === 0) prefill = step.ms; else decode += step.ms;
    }
    best = { prefill: Math.min(best.prefill, prefill), decode: Math.min(best.decode, decode) };
  }
  return {
    prefill_tokens_per_s: +(PROMPT / (best.prefill / 1000)).toFixed(1),
    decode_tokens_per_s: +(DECODE / (best.decode / 1000)).toFixed(1),
    decode_ms_per_token: +(best.decode / DECODE).toFixed(2),
  };
}

async function main() {
  if (process.argv.includes('--scale')) {
    // Scale mode: one layer at Mixtral-8x7B's real dimensions (see scale.ts).
    registerWgslLoader(); // the kernels import WGSL with `?raw`
    const { scaleBench, MIXTRAL_8X7B } = await import('./scale.ts');
    const { device, adapter } = await requestNodeGpuDevice(MIXTRAL_8X7B, 'f16');
    const out = await scaleBench(device);
    process.stdout.write(JSON.stringify({ scale: out, webgpu_adapter: `${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}`.trim() }) + '\n');
    device.destroy();
    return;
  }
  const at = process.argv.indexOf('--model');
  const dir = at > 0 ? process.argv[at + 1] : DEFAULT_MODEL_DIR;
  const model = await loadModelDirectory(dir);
  const cpu = new CpuEngine(model.config, model.weights);
  const gpu = await createNodeWebGpuEngine(model.config, model.weights, model.dtypeBytes);
  const result: Record<string, unknown> = { model: at > 0 ? dir : 'models/mixscope-tiny', prompt_tokens: PROMPT, decode_tokens: DECODE, webgpu_adapter: gpu.description };
  for (const [name, engine] of [['cpu', cpu], ['webgpu', gpu]] as const) {
    result[name] = { no_hooks: await measure(engine, []), every_hook: await measure(engine, ['*']) };
  }
  (result.webgpu as Record<string, unknown>).greedy_argmax_on_gpu = await measure(gpu, [], true);
  (result.webgpu as Record<string, unknown>).kernels = gpu.kernels.subgroups ? `subgroup kernels (${gpu.kernels.subgroups.wg}-invocation workgroups, ${gpu.kernels.subgroups.rowsPerWorkgroup} rows each)` : 'workgroup-reduction kernels (no subgroups on this adapter)';
  // The workgroup-reduction kernels (what adapters without `subgroups` run), on the same device
  // and in the same run, so the two kernel sets compare side by side. Once: they are the slow path.
  let withoutSubgroups: Awaited<ReturnType<typeof measure>> | null = null;
  if (gpu.kernels.subgroups) {
    const fallback = await createNodeWebGpuEngine(model.config, model.weights, model.dtypeBytes, { subgroups: false });
    withoutSubgroups = await measure(fallback, [], false, 1);
    result.webgpu_without_subgroups = { no_hooks: withoutSubgroups };
    fallback.dispose();
  }
  // Kernel times from timestamp queries, in a separate profiled engine (profiling adds overhead).
  const profiled = await createNodeWebGpuEngine(model.config, model.weights, model.dtypeBytes, { profile: true });
  if (profiled.profile) {
    const s = profiled.createSession();
    const sorted = () => Object.fromEntries(Object.entries(profiled.lastKernelTimes ?? {}).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, +v.toFixed(4)]));
    await s.forward(Array.from({ length: PROMPT }, (_, i) => 3 + i));
    result.webgpu_prefill_kernel_ms = sorted();
    await s.forward([5]);
    result.webgpu_decode_kernel_ms = sorted();
  } else {
    result.webgpu_decode_kernel_ms = 'this adapter has no timestamp-query';
  }
  profiled.dispose();
  const r = result as Record<'cpu' | 'webgpu', Record<'no_hooks' | 'every_hook' | 'greedy_argmax_on_gpu', Record<string, number>>>;
  result.ratios = {
    webgpu_over_cpu_decode_no_hooks: +(r.webgpu.no_hooks.decode_tokens_per_s / r.cpu.no_hooks.decode_tokens_per_s).toFixed(3),
    webgpu_over_cpu_prefill_no_hooks: +(r.webgpu.no_hooks.prefill_tokens_per_s / r.cpu.no_hooks.prefill_tokens_per_s).toFixed(3),
    webgpu_greedy_argmax_over_logits_decode: +(r.webgpu.greedy_argmax_on_gpu.decode_tokens_per_s / r.webgpu.no_hooks.decode_tokens_per_s).toFixed(3),
    webgpu_hook_cost: +(1 - r.webgpu.every_hook.decode_tokens_per_s / r.webgpu.no_hooks.decode_tokens_per_s).toFixed(3),
    cpu_hook_cost: +(1 - r.cpu.every_hook.decode_tokens_per_s / r.cpu.no_hooks.decode_tokens_per_s).toFixed(3),
    ...(withoutSubgroups ? {
      subgroup_over_workgroup_kernels_decode: +(r.webgpu.no_hooks.decode_tokens_per_s / withoutSubgroups.decode_tokens_per_s).toFixed(2),
      subgroup_over_workgroup_kernels_prefill: +(r.webgpu.no_hooks.prefill_tokens_per_s / withoutSubgroups.prefill_tokens_per_s).toFixed(2),
    } : {}),
  };
  gpu.dispose();
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => { process.stderr.write(`bench: ${(e as Error).message}\n`); process.exitCode = 1; });

// npm run bench: the WebGPU engine on the default model, one line of JSON on stdout (notes on
// stderr). `--scale` runs scale mode instead (scale.ts: one Mixtral-8x7B layer); `--preflight`
// only describes the adapter (preflight.ts); `--model DIR` benches another checkpoint; `--quick`
// measures fewer tokens (a smoke run, not figures); `--weights f32|f16|q8|q4` is the format the
// WebGPU engine keeps the big matrices in (default: f16 for a float16 checkpoint, else f32). The
// WebGPU engine is loaded as users load it, streamed from the files tensor by tensor.
// Per mode (no hooks, greedy, the site's hooks, every hook; decode.ts) and at positions near 16
// and near 480 (the default model's window is 128, so the second attends to a full window): the
// median, p10 and p90 ms per token over 256 tokens after 16 warm-up tokens, host and GPU time
// per token, and the engine's counters per decode call (dispatches, passes, copies, maps, writes).
// Timestamp quantization is turned off (engine/node-webgpu.ts) and checked: some GPU reading
// must not be a multiple of 65,536 ns. Beside them: prefill, the CPU engine, the workgroup-
// reduction kernels and per-kernel times, for ratios within this run. On a real GPU it prints
// PASS/FAIL lines against the targets (targets.ts); on SwiftShader (a CPU emulation) its
// absolute figures say nothing about GPUs, and the "here" targets check ratios instead.
//
// Napkin maths for decode: each token reads every active weight once. For the default model
// (F16) that is about 2 bytes x 5.2 M active parameters = 10 MB per token; at 1 TB/s of memory
// bandwidth the ceiling would be ~100k tokens/s, so real-GPU decode of a model this small is bound
// by launch overhead: 39 dispatches in one compute pass per token, submitted without a host wait.
// In q8 the matrices take 1.0625 bytes a weight, in q4 0.625: `weight_bytes_per_token` counts the
// format's bytes, and `weight_gb_per_s` is that times the decode rate (no hooks, near 16).
import { loadModelDirectory } from '../engine/node.ts';
import { CpuEngine } from '../engine/cpu/engine.ts';
import type { Engine } from '../engine/engine.ts';
import { DEFAULT_MODEL_DIR } from '../engine/cli/commands.ts';
import { directorySource } from '../engine/node.ts';
import { registerWgslLoader, requestNodeGpuDevice } from '../engine/node-webgpu.ts';
import { isWeightFormat, matrixBytes, type WeightFormat } from '../engine/footprint/formats.ts';
import type { MixtralConfig } from '../engine/config.ts';
import { MEASURED, MODES, REWIND, WARMUP, decodeAt, decodeModesAt, promptOf, type PositionFigures } from './decode.ts';
import { adapterFacts, describeAdapter, isRealGpu, modelTargets } from './targets.ts';

const POSITIONS = [16, 480] as const;
const PREFILL = 128;
const log = (m: string) => process.stderr.write(`bench: ${m}\n`);

/**
 * Weight bytes one decode token reads in `format`: per layer q, k, v, o, the router (f32) and the
 * K chosen experts (and a shared expert), then lm_head; norms and the embedding row are noise.
 * Every layer is counted as sparse.
 */
function weightBytesPerToken(c: MixtralConfig, format: WeightFormat): number {
  const D = c.hidden_size, F = c.intermediate_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  const m = (rows: number, cols: number) => matrixBytes(format, rows, cols);
  const expert = (f: number) => 2 * m(f, D) + m(D, f);
  const Fs = c.family.shared_expert_intermediate_size ?? 0;
  const layer = m(q + 2 * kv, D) + m(D, q) + 4 * c.num_local_experts * D + c.num_experts_per_tok * expert(F) + (Fs ? expert(Fs) : 0);
  return c.num_hidden_layers * layer + m(c.vocab_size, D);
}

async function main() {
  const quick = process.argv.includes('--quick');
  const o = quick ? { warmup: 2, measured: 8 } : { warmup: WARMUP, measured: MEASURED };
  registerWgslLoader(); // the kernels import WGSL with `?raw`
  if (process.argv.includes('--preflight')) {
    await (await import('./preflight.ts')).preflight();
    return;
  }
  const wa = process.argv.indexOf('--weights');
  const asked = wa > 0 ? process.argv[wa + 1] : undefined;
  if (asked !== undefined && !isWeightFormat(asked)) throw new Error(`--weights takes f32, f16, q8 or q4, not ${JSON.stringify(asked)}`);
  const format: WeightFormat | undefined = asked;
  if (process.argv.includes('--scale')) {
    if (format === 'f32') throw new Error('--scale runs f16, q8 or q4 weights (a Mixtral-8x7B layer in f32 is 1.6 GB)');
    const { scaleBench, MIXTRAL_8X7B } = await import('./scale.ts');
    // Asked for what f16 needs (more than q8/q4), so the 512 MiB roof buffer fits in every format.
    const { device, adapter } = await requestNodeGpuDevice(MIXTRAL_8X7B, 'f16');
    const out = await scaleBench(device, adapterFacts(adapter), { runs: quick ? 2 : 20, format: format ?? 'f16' });
    process.stdout.write(JSON.stringify(out) + '\n');
    device.destroy();
    return;
  }
  const at = process.argv.indexOf('--model');
  const dir = at > 0 ? process.argv[at + 1] : DEFAULT_MODEL_DIR;
  // The WebGPU engine as users load it: streamed from the files; the CPU engine and the comparison
  // engines (workgroup-reduction kernels, profiled) from float32 weights in memory.
  const { WebGpuEngine } = await import('../engine/webgpu/engine.ts');
  const { loadWebGpuModel } = await import('../engine/webgpu/load.ts');
  let adapter: GPUAdapter | null = null;
  const loadStart = performance.now();
  const streamed = await loadWebGpuModel(directorySource(dir), async (config, f) => {
    const got = await requestNodeGpuDevice(config, f);
    adapter = got.adapter;
    return { device: got.device, description: `WebGPU (${describeAdapter(adapterFacts(got.adapter))})` };
  }, { weights: format, timestamps: true });
  const loadMs = performance.now() - loadStart;
  const gpu = streamed.engine, device = gpu.device, dtype = gpu.weights.format;
  const facts = adapterFacts(adapter!);
  const model = await loadModelDirectory(dir);
  const c = model.config;
  const cpu = new CpuEngine(c, model.weights);
  const positions = POSITIONS.filter((p) => p + REWIND <= c.max_position_embeddings);
  const result: Record<string, unknown> = {
    model: at > 0 ? dir : 'models/mixscope-tiny', webgpu_adapter: describeAdapter(facts), real_gpu: isRealGpu(facts),
    weights: dtype, streamed_load_ms: Math.round(loadMs),
    kernels: gpu.kernels.subgroups ? `subgroup kernels (${gpu.kernels.subgroups.wg}-invocation workgroups, ${gpu.kernels.subgroups.rowsPerWorkgroup} rows each)` : 'workgroup-reduction kernels (no subgroups on this adapter)',
    tokens: { warmup: o.warmup, measured: o.measured, rewind_every: REWIND, sliding_window: c.sliding_window },
  };

  // ---- decode, per mode and position
  const readings: number[] = [];
  const modes: Record<string, Record<string, unknown>> = {};
  const sessions = new Map<number, ReturnType<typeof gpu.createSession>>();
  for (const p of positions) {
    const s = gpu.createSession();
    await s.forward(promptOf(p, c.vocab_size), { output: 'token' });
    sessions.set(p, s);
  }
  for (const name of Object.keys(MODES)) modes[name] = {};
  for (const p of positions) {
    log(`every mode in turns near ${p}`);
    const byMode = await decodeModesAt(gpu, sessions.get(p)!, p, MODES, o);
    for (const [name, { figures, counters, gpuReadings }] of Object.entries(byMode)) {
      readings.push(...gpuReadings);
      if (!counters) { modes[name][`near_${p}`] = figures; continue; }
      // Per position (a window past 128 positions adds the attention's merge), and per mode the
      // most of each over the positions, which the targets are held to.
      const { scopes, ...rest } = counters;
      modes[name][`near_${p}`] = { ...figures, counters: rest };
      const most = (modes[name].counters ?? {}) as Record<string, number>;
      modes[name].counters = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, Math.max(v, most[k] ?? 0)]));
      modes[name].error_scopes_awaited = ((modes[name].error_scopes_awaited as number | undefined) ?? 0) + scopes;
    }
  }
  for (const s of sessions.values()) s.dispose();
  result.modes = modes;
  const bytes = weightBytesPerToken(c, dtype), rate = (modes.no_hooks[`near_${positions[0]}`] as PositionFigures).tokens_per_s;
  result.weight_bytes_per_token = bytes;
  result.weight_gb_per_s = +((bytes * rate) / 1e9).toFixed(3);
  const ns = readings.map((ms) => Math.round(ms * 1e6));
  result.timestamp_quantization = {
    disabled: true, readings: ns.length, not_multiples_of_65536_ns: ns.filter((v) => v % 65536 !== 0).length,
    checked: ns.some((v) => v % 65536 !== 0),
  };

  // ---- beside it: prefill, the CPU engine, the workgroup-reduction kernels, kernel times
  const prefill = async (e: Engine) => {
    const times: number[] = [];
    for (let r = 0; r < (quick ? 1 : 3); r++) {
      using s = e.createSession();
      const t = performance.now();
      await s.forward(promptOf(PREFILL, c.vocab_size), { output: 'token' });
      times.push(performance.now() - t);
    }
    return +(PREFILL / (Math.min(...times) / 1000)).toFixed(1);
  };
  log('prefill');
  result.prefill_tokens_per_s = { prompt_tokens: PREFILL, webgpu: await prefill(gpu), cpu: await prefill(cpu) };
  const short = { warmup: o.warmup, measured: Math.min(o.measured, 64) };
  const at16 = async (e: Engine, name: keyof typeof MODES, opts = short): Promise<PositionFigures> => {
    using s = e.createSession();
    await s.forward(promptOf(positions[0], c.vocab_size), { output: 'token' });
    return (await decodeAt(e, s, positions[0], MODES[name], opts)).figures;
  };
  log('CPU engine');
  {
    using s = cpu.createSession();
    await s.forward(promptOf(positions[0], c.vocab_size), { output: 'token' });
    const byMode = await decodeModesAt(cpu, s, positions[0], { no_hooks: MODES.no_hooks, every_hook: MODES.every_hook }, short);
    result.cpu = { no_hooks: { near_16: byMode.no_hooks.figures }, every_hook: { near_16: byMode.every_hook.figures } };
  }
  let workgroup: PositionFigures | null = null;
  if (gpu.kernels.subgroups) {
    log('workgroup-reduction kernels');
    const fallback = await WebGpuEngine.create(device, c, model.weights, { weights: dtype, subgroups: false, timestamps: true });
    workgroup = await at16(fallback, 'no_hooks', { warmup: 2, measured: quick ? 4 : 16 });
    result.workgroup_reduction_kernels = { no_hooks: { near_16: workgroup } };
    fallback.dispose();
  }
  const profiled = await WebGpuEngine.create(device, c, model.weights, { weights: dtype, profile: true });
  if (profiled.profile) {
    using s = profiled.createSession();
    await s.forward(promptOf(positions[0], c.vocab_size), { output: 'token' });
    await s.forward([5], { output: 'token' });
    result.decode_kernel_ms = Object.fromEntries(Object.entries(profiled.lastKernelTimes ?? {}).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, +v.toFixed(4)]));
  }
  profiled.dispose();

  // ---- ratios, and the targets
  const fig = (mode: string, p: number) => modes[mode][`near_${p}`] as PositionFigures;
  const [p0, p1] = [positions[0], positions.at(-1)!];
  const cost = (mode: string, p: number) => +(1 - fig(mode, p).tokens_per_s / fig('no_hooks', p).tokens_per_s).toFixed(3);
  const positionRatio = Object.fromEntries(Object.keys(MODES).map((m) => [m, +(fig(m, p1).median_ms / fig(m, p0).median_ms).toFixed(3)]));
  const ratios: Record<string, unknown> = {
    every_hook_cost: Object.fromEntries(positions.map((p) => [`near_${p}`, cost('every_hook', p)])),
    site_hooks_cost: Object.fromEntries(positions.map((p) => [`near_${p}`, cost('site_hooks', p)])),
    [`ms_per_token_${p1}_over_${p0}`]: positionRatio,
    webgpu_over_cpu_decode_no_hooks: +(fig('no_hooks', p0).tokens_per_s / (result.cpu as Record<string, Record<string, PositionFigures>>).no_hooks.near_16.tokens_per_s).toFixed(3),
    ...(workgroup ? { subgroup_over_workgroup_kernels_decode: +(fig('no_hooks', p0).tokens_per_s / workgroup.tokens_per_s).toFixed(2) } : {}),
  };
  result.ratios = ratios;
  const counters = modes.every_hook.counters as Record<string, number>;
  result.targets_here = {
    dispatches_per_token_le_48: (modes.no_hooks.counters as Record<string, number>).dispatches <= 48,
    every_hook_passes_le_2_copies_le_2: counters.passes <= 2 && counters.copies <= 2,
    one_map_per_token: counters.maps === 1,
    no_awaited_error_scope: Object.values(modes).every((m) => m.error_scopes_awaited === 0),
    every_hook_cost_le_10_percent: positions.every((p) => cost('every_hook', p) <= 0.1),
    [`near_${p1}_within_1_15_of_near_${p0}`]: positionRatio.no_hooks <= 1.15,
    timestamps_not_quantized: (result.timestamp_quantization as { checked: boolean }).checked,
  };
  if (isRealGpu(facts)) result.targets = modelTargets(fig('no_hooks', p0).tokens_per_s, fig('every_hook', p0).tokens_per_s);
  gpu.dispose();
  device.destroy();
  process.stdout.write(JSON.stringify(result) + '\n');
  if (result.targets) for (const l of result.targets as string[]) log(l);
}

main().catch((e) => { process.stderr.write(`bench: ${(e as Error).stack ?? (e as Error).message}\n`); process.exitCode = 1; });

// `info`'s "footprint": what the checkpoint's files weigh, what its weights take in each format,
// and whether an adapter can hold them, from config.json and the sizes its source states (the
// same numbers the site's open dialog shows before a download). With --backend webgpu the
// adapter is Dawn's (SwiftShader without a GPU); otherwise WebGPU's guaranteed limits. `cpu` and
// `webgpu` are for the format each engine would keep: --weights, else its default.
import type { CheckpointSource } from '../checkpoint/source.ts';
import { inspectCheckpoint } from '../footprint/inspect.ts';
import { DEFAULT_LIMITS, checkFit, type BindingLimits } from '../footprint/footprint.ts';
import { engineFormat } from '../footprint/device-plan.ts';
import { WEIGHT_FORMATS, type WeightFormat } from '../footprint/formats.ts';

export async function footprintReport(source: CheckpointSource, backend: string | undefined, weights?: WeightFormat) {
  const ins = await inspectCheckpoint(source, { requireWeights: false });
  let limits: BindingLimits = DEFAULT_LIMITS;
  let adapter = 'WebGPU default limits';
  if (backend === 'webgpu') {
    const { requestNodeAdapter } = await import('../node-webgpu.ts');
    const a = await requestNodeAdapter();
    limits = { maxBufferSize: a.limits.maxBufferSize, maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize };
    adapter = [a.info.vendor, a.info.architecture, a.info.description].filter(Boolean).join(' ') || 'Dawn adapter';
  }
  const webgpuFormat = weights ?? engineFormat('webgpu', ins.storedDtype);
  const cpuFormat = weights ?? engineFormat('cpu', ins.storedDtype);
  const fit = checkFit(ins.formats[webgpuFormat], limits);
  return {
    files: ins.files.map((f) => ({ name: f.name, bytes: f.bytes ?? null })),
    download_bytes: ins.downloadBytes,
    stored_dtype: ins.storedDtype,
    formats: Object.fromEntries(WEIGHT_FORMATS.map((f) => [f, {
      bytes: ins.formats[f].bytes, largest_buffer: ins.formats[f].largest,
    }])),
    cpu: { format: cpuFormat, bytes: ins.formats[cpuFormat].bytes },
    webgpu: {
      adapter, limits, format: webgpuFormat, bytes: ins.formats[webgpuFormat].bytes, fits: fit.fits, message: fit.message,
    },
  };
}

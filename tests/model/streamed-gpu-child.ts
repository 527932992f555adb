// The child of streamed-gpu.test.ts: streams a checkpoint folder onto the WebGPU engine (Dawn) in
// a process started with a small heap, runs one forward, and reports its peak memory and the
// logits. Usage: node --max-old-space-size=N --import tsx streamed-gpu-child.ts DIR FORMAT IDS
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { directorySource } from '../../engine/node.ts';
import { loadNodeWebGpuModel } from '../../engine/node-webgpu.ts';
import { weightBuffers } from '../../engine/webgpu/upload.ts';

const [dir, format, idsText] = process.argv.slice(2);
let peakArrayBuffers = 0;
const sample = () => { peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers); };
const started = Date.now();
// Sampled as each tensor is handed over, after a collection (the parent runs this with --expose-gc):
// what the loader keeps alive, not what the collector has yet to free.
const collect = (globalThis as { gc?: () => void }).gc;
const model = await loadNodeWebGpuModel(directorySource(dir), {
  weights: format as 'f16',
  onTensor: () => { collect?.(); sample(); },
});
const loadMs = Date.now() - started;
sample();
const afterLoadRss = process.memoryUsage().rss;
const gpuBytes = weightBuffers(model.engine.weights).reduce((a, b) => a + b.size, 0);
const ids = idsText.split(',').map(Number);
const { logits } = await model.engine.forward(ids, { output: 'all' });
writeFileSync(path.join(dir, `logits-${format}.bin`), new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
const maxRss = process.resourceUsage().maxRSS * 1024;
model.engine.dispose();
console.log(JSON.stringify({ maxRss, afterLoadRss, peakArrayBuffers, gpuBytes, loadMs, forwardMs: Date.now() - started - loadMs, description: model.engine.description }));
process.exit(0);

// The smoke-test kernel, shared by the Node and the browser test: out[i] = a[i] * b[i] + i % 7,
// over a buffer of N floats, with the workgroup size set through an `override` constant.
// (Written as a string so the browser page can receive it through page.evaluate.)

export const SMOKE_WGSL = /* wgsl */ `
override WG: u32 = 64;
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x;
  if (i < arrayLength(&out)) { out[i] = a[i] * b[i] + f32(i % 7u); }
}`;

export const SMOKE_N = 100_003;

export function smokeInputs(n = SMOKE_N): { a: Float32Array<ArrayBuffer>; b: Float32Array<ArrayBuffer>; expected: Float32Array } {
  const a = Float32Array.from({ length: n }, (_, i) => (i % 101) / 8 - 3);
  const b = Float32Array.from({ length: n }, (_, i) => (i % 13) / 4 + 0.5);
  // Both factors are exact in few bits, so the product and sum are exact in f32 on any adapter.
  const expected = Float32Array.from({ length: n }, (_, i) => a[i] * b[i] + (i % 7));
  return { a, b, expected };
}

/**
 * Run the kernel on a device and return the result. Self-contained (no imports, no closures)
 * so the same function can be serialised into a page with page.evaluate.
 */
export async function runSmokeKernel(device: GPUDevice, wgsl: string, a: Float32Array<ArrayBuffer>, b: Float32Array<ArrayBuffer>): Promise<Float32Array> {
  const usage = 0x0080 /* STORAGE */ | 0x0008 /* COPY_DST */;
  const make = (data: Float32Array<ArrayBuffer>) => {
    const buf = device.createBuffer({ size: data.byteLength, usage });
    device.queue.writeBuffer(buf, 0, data);
    return buf;
  };
  device.pushErrorScope('validation');
  const bufA = make(a), bufB = make(b);
  const out = device.createBuffer({ size: a.byteLength, usage: 0x0080 | 0x0004 /* COPY_SRC */ });
  const read = device.createBuffer({ size: a.byteLength, usage: 0x0001 /* MAP_READ */ | 0x0008 });
  const wg = 128;
  const pipeline = device.createComputePipeline({
    layout: 'auto',
    compute: { module: device.createShaderModule({ code: wgsl }), entryPoint: 'main', constants: { WG: wg } },
  });
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [bufA, bufB, out].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(Math.ceil(a.length / wg));
  pass.end();
  enc.copyBufferToBuffer(out, 0, read, 0, a.byteLength);
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  if (err) throw new Error(`WebGPU validation error: ${err.message}`);
  await read.mapAsync(1 /* GPUMapMode.READ */);
  const result = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  for (const buf of [bufA, bufB, out, read]) buf.destroy();
  return result;
}

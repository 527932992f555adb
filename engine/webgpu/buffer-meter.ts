// Live GPU buffers of a device, counted: wraps the device's createBuffer and each buffer's
// destroy(), so a test (or the site's worker, for its `stats` message) can see whether anything
// is left behind after a generation. Costs one map entry per live buffer.

export interface BufferMeter {
  /** Buffers created and not yet destroyed. */
  readonly liveBuffers: number;
  /** Their bytes (the sizes asked for at creation). */
  readonly liveBytes: number;
  /** Buffers created since the meter was attached. */
  readonly created: number;
  /** Puts the device's own createBuffer back (buffers made meanwhile keep their counting destroy). */
  detach(): void;
}

export function meterBuffers(device: GPUDevice): BufferMeter {
  const live = new Map<GPUBuffer, number>();
  let bytes = 0, created = 0;
  const own = Object.prototype.hasOwnProperty.call(device, 'createBuffer');
  const original = device.createBuffer;
  device.createBuffer = function (descriptor: GPUBufferDescriptor): GPUBuffer {
    const buffer = original.call(device, descriptor);
    const destroy = buffer.destroy;
    live.set(buffer, descriptor.size);
    bytes += descriptor.size;
    created++;
    buffer.destroy = function (): undefined {
      const size = live.get(buffer);
      if (size !== undefined) { live.delete(buffer); bytes -= size; }
      return destroy.call(buffer);
    };
    return buffer;
  };
  return {
    get liveBuffers() { return live.size; },
    get liveBytes() { return bytes; },
    get created() { return created; },
    detach() {
      if (own) device.createBuffer = original;
      else delete (device as { createBuffer?: unknown }).createBuffer;
    },
  };
}

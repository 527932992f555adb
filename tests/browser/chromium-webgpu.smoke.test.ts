// Harness smoke test: a real compute shader in headless Chromium's WebGPU, checked element by element.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, watchErrors } from './chromium.ts';
import { serveDirectory, type StaticServer } from './static-server.ts';
import { noAdapter } from '../gpu/ci-policy.ts';
import { SMOKE_WGSL, SMOKE_N, runSmokeKernel, smokeInputs } from '../gpu/smoke-kernel.ts';

describe('WebGPU in headless Chromium', () => {
  let browser: Browser;
  let server: StaticServer;
  beforeAll(async () => {
    browser = await launchChromium();
    // navigator.gpu needs a secure context: a page served from 127.0.0.1 is one.
    server = await serveDirectory('/nonexistent', { '/': '<!doctype html><title>smoke</title>' });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('runs a compute shader and its result is exact', async (ctx) => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${server.url}/`);
    const adapterInfo = await page.evaluate(async () => {
      const adapter = await navigator.gpu?.requestAdapter();
      if (!adapter) return null;
      return { vendor: adapter.info.vendor, architecture: adapter.info.architecture, features: [...adapter.features].sort() };
    });
    if (!adapterInfo) return noAdapter('Chromium', 'navigator.gpu.requestAdapter() returned null', (m) => ctx.skip(m));
    console.log(`[webgpu:chromium] ${adapterInfo.vendor} / ${adapterInfo.architecture}; features: ${adapterInfo.features.join(', ')}`);

    const mismatches = await page.evaluate(async ({ wgsl, n, inputsSrc, runSrc }) => {
      const smokeInputs = new Function(`return (${inputsSrc})`)();
      const run = new Function(`return (${runSrc})`)();
      const adapter = (await navigator.gpu.requestAdapter())!;
      const device = await adapter.requestDevice();
      const { a, b, expected } = smokeInputs(n);
      const out: Float32Array = await run(device, wgsl, a, b);
      let bad = 0;
      for (let i = 0; i < n; i++) if (out[i] !== expected[i]) bad++;
      device.destroy();
      return out.length === n ? bad : -1;
    }, { wgsl: SMOKE_WGSL, n: SMOKE_N, inputsSrc: smokeInputs.toString(), runSrc: runSmokeKernel.toString() });
    expect(mismatches).toBe(0);
    expect(errors).toEqual([]);
  });
});

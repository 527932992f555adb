// Headless Chromium with WebGPU (SwiftShader when there is no GPU), driven by playwright-core.
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Browsers launched with WebGPU: the site harness opens the WebGPU engine in them (see site-harness.ts). */
export const WEBGPU_BROWSERS = new WeakSet<Browser>();

export async function launchChromium({ webgpu = true } = {}): Promise<Browser> {
  const args = webgpu ? CHROMIUM_ARGS : [...CHROMIUM_ARGS.filter((a) => a !== '--enable-unsafe-webgpu'), '--disable-webgpu'];
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args, headless: true });
  if (webgpu) WEBGPU_BROWSERS.add(browser);
  return browser;
}

/** Collect console errors and uncaught page errors, so a test can assert there were none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  return errors;
}

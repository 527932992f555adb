import { defineConfig } from 'vitest/config';
import { existsSync } from 'node:fs';

// Dawn (the `webgpu` package) finds SwiftShader's Vulkan driver through this variable.
const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
const env: Record<string, string> = {};
if (!process.env.VK_ICD_FILENAMES && existsSync(swiftshader)) env.VK_ICD_FILENAMES = swiftshader;

export default defineConfig({
  test: {
    root: '.',
    include: ['engine/**/*.test.ts', 'tests/**/*.test.ts', 'viz/**/*.test.ts', 'site/**/*.test.ts'],
    environment: 'node',
    env,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The browser tests poll a page for what a cell re-run draws; with two busy cores (CI runs two
    // files at a time) that can take longer than the 1 s default. Only a failing poll waits this long.
    expect: { poll: { timeout: 15_000 } },
    // Two cores: at most two test files at a time, so browser and GPU tests are not starved.
    maxWorkers: 2,
  },
});

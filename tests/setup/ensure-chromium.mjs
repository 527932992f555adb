// Run by `npm test` before the tests: the browser and Node WebGPU tests need Debian's chromium
// (the browser, and SwiftShader's Vulkan driver that ships with it) and the Vulkan loader.
// As root on Debian this installs them; elsewhere it says exactly what to install.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
const hasLoader = () => {
  try { return execSync('ldconfig -p', { encoding: 'utf8' }).includes('libvulkan.so.1'); } catch { return false; }
};

const missing = [];
if (!existsSync(chromium)) missing.push('chromium');
if (!process.env.VK_ICD_FILENAMES && !existsSync(swiftshader) && !missing.includes('chromium')) missing.push('chromium');
if (!hasLoader()) missing.push('libvulkan1');
if (missing.length === 0) process.exit(0);

const isRoot = process.getuid?.() === 0;
const isDebian = existsSync('/etc/debian_version') && existsSync('/usr/bin/apt-get');
if (isRoot && isDebian) {
  console.log(`[npm test] installing Debian packages the WebGPU tests need: ${missing.join(' ')}`);
  execSync('apt-get update', { stdio: 'inherit' });
  execSync(`apt-get install -y ${missing.join(' ')}`, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (!existsSync(chromium)) {
    console.error(`[npm test] apt-get finished but ${chromium} is still missing`);
    process.exit(1);
  }
  process.exit(0);
}
console.error(`[npm test] missing: ${missing.join(', ')}. Install them with:\n  sudo apt-get install ${missing.join(' ')}\n(or set CHROMIUM_PATH to a Chromium with WebGPU, and VK_ICD_FILENAMES to a Vulkan driver).`);
process.exit(1);

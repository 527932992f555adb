// When no WebGPU adapter can be had: in CI that is a failure, never a skip; on a developer's
// machine the GPU tests skip with the reason printed.

export const IN_CI = ['1', 'true'].includes((process.env.CI ?? '').toLowerCase());

export function noAdapter(where: string, reason: string, skip: (note: string) => void): never | void {
  const message = `${where}: no WebGPU adapter (${reason})`;
  if (IN_CI) throw new Error(`${message}. In CI a missing adapter is a failure: install Debian's chromium (SwiftShader) and check VK_ICD_FILENAMES.`);
  console.warn(`${message}; skipping outside CI`);
  skip(message);
}

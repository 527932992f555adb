// When no WebGPU adapter can be had: in CI that is a failure, never a skip; on a developer's
// machine the GPU tests skip with the reason printed.

export const IN_CI = ['1', 'true'].includes((process.env.CI ?? '').toLowerCase());

export function noAdapter(where: string, reason: string, skip: (note: string) => void): never | void {
  const message = `${where}: no WebGPU adapter (${reason})`;
  if (IN_CI) throw new Error(`${message}. In CI a missing adapter is a failure: install Debian's chromium (SwiftShader) and check VK_ICD_FILENAMES.`);
  console.warn(`${message}; skipping outside CI`);
  skip(message);
}

/**
 * When the adapter lacks the `subgroups` feature, the subgroup kernels cannot be tested: in CI
 * (SwiftShader has the feature) that is a failure, elsewhere a skip with the reason printed.
 */
export function noSubgroups(where: string, skip: (note: string) => void): never | void {
  const message = `${where}: this adapter has no "subgroups" feature`;
  if (IN_CI) throw new Error(`${message}. In CI the subgroup kernels must be tested: SwiftShader (Debian's chromium) has the feature.`);
  console.warn(`${message}; skipping outside CI`);
  skip(message);
}

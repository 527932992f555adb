// When a GPU test cannot run (no WebGPU adapter, or one without a feature it tests): in CI that
// is a failure, never a skip; on a developer's machine the test skips with the reason printed.

export const IN_CI = ['1', 'true'].includes((process.env.CI ?? '').toLowerCase());

/** Throws in CI (with `inCi`, what to check there), else warns and skips with `message`. */
function cannotRun(message: string, inCi: string, skip: (note: string) => void): never | void {
  if (IN_CI) throw new Error(`${message}. ${inCi}`);
  console.warn(`${message}; skipping outside CI`);
  skip(message);
}

export function noAdapter(where: string, reason: string, skip: (note: string) => void): never | void {
  cannotRun(`${where}: no WebGPU adapter (${reason})`, "In CI a missing adapter is a failure: install Debian's chromium (SwiftShader) and check VK_ICD_FILENAMES.", skip);
}

/** The adapter lacks the `subgroups` feature, so the subgroup kernels cannot be tested. */
export function noSubgroups(where: string, skip: (note: string) => void): never | void {
  cannotRun(`${where}: this adapter has no "subgroups" feature`, "In CI the subgroup kernels must be tested: SwiftShader (Debian's chromium) has the feature.", skip);
}

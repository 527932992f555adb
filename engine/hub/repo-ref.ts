// A model on the Hugging Face Hub, as people write it: `org/name` or `org/name@revision`.
// The rules are the Hub's own (huggingface_hub's validate_repo_id): each part is letters, digits,
// '-', '_' or '.', not starting or ending with '-' or '.', at most 96 characters; no '--' or '..'
// (the cache folder name joins the parts with '--'); no '.git' ending.
// A revision is a branch, a tag or a commit hash; '/' is allowed ("refs/pr/1").
// Browser- and worker-safe.
import { HubError } from './errors.ts';

export interface RepoRef {
  /** "org/name". */
  repo: string;
  /** A branch, tag or commit hash; "main" when none was given. */
  revision: string;
}

export const DEFAULT_REVISION = 'main';

const PART = /^(?![-.])[\w.-]{1,96}(?<![-.])$/;
/** A full commit hash, the only revision huggingface_hub takes for a commit without asking. */
const COMMIT = /^[0-9a-f]{40}$/;

/** True for a full 40-hex-digit commit hash. */
export function isCommitHash(revision: string): boolean {
  return COMMIT.test(revision);
}

/** Why `repo` is not a valid "org/name", or undefined when it is. */
function repoProblem(repo: string): string | undefined {
  const parts = repo.split('/');
  if (parts.length !== 2) return 'must be "org/name"';
  if (!parts.every((p) => PART.test(p))) {
    return "each part must be letters, digits, '-', '_' or '.', not starting or ending with '-' or '.', at most 96 characters";
  }
  if (repo.includes('--') || repo.includes('..')) return "must not contain '--' or '..'";
  if (repo.endsWith('.git')) return "must not end with '.git'";
  return undefined;
}

/** Why `revision` cannot be used (in a URL and as a path under refs/), or undefined. */
function revisionProblem(revision: string): string | undefined {
  if (revision === '') return 'is empty';
  // Control characters and backslashes have no place in a git ref; '..' and empty segments would
  // let refs/{revision} point outside the cache folder.
  if (/[\u0000-\u001f\u007f\\]/.test(revision)) return 'contains a control character or a backslash';
  if (revision.split('/').some((s) => s === '' || s === '.' || s === '..')) return "has an empty, '.' or '..' segment";
  return undefined;
}

/** Parse "org/name" or "org/name@revision"; throws HubError('bad-repo-id') naming the problem. */
export function parseRepoRef(text: string): RepoRef {
  const s = text.trim();
  const at = s.indexOf('@');
  const repo = at < 0 ? s : s.slice(0, at);
  const revision = at < 0 ? DEFAULT_REVISION : s.slice(at + 1);
  const bad = repoProblem(repo);
  if (bad) throw new HubError('bad-repo-id', `"${excerpt(s)}" is not a Hub model id: the repository ${bad}`, { repo });
  const badRev = revisionProblem(revision);
  if (badRev) throw new HubError('bad-repo-id', `"${excerpt(s)}": the revision ${badRev}`, { repo });
  return { repo, revision };
}

/** True when `text` parses as "org/name[@revision]" (it may still not exist on the Hub). */
export function looksLikeRepoRef(text: string): boolean {
  try { parseRepoRef(text); return true; } catch { return false; }
}

/** "org/name@revision", or "org/name" on the default revision. */
export function formatRepoRef(ref: RepoRef): string {
  return ref.revision === DEFAULT_REVISION ? ref.repo : `${ref.repo}@${ref.revision}`;
}

const excerpt = (s: string) => (s.length > 120 ? `${s.slice(0, 117)}...` : s);

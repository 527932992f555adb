// Reading the Hub's answers: the headers a resolve URL carries (X-Repo-Commit, X-Linked-Etag,
// X-Linked-Size, ETag), and a failed answer as a HubError with what to do about it
// (X-Error-Code: RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo).
// Browser- and worker-safe.
import { HubError } from './errors.ts';
import type { RepoRef } from './repo-ref.ts';
import { repoPageUrl, sameHost } from './urls.ts';

/** What the Hub says about one file of one commit (huggingface_hub's HfFileMetadata). */
export interface HubFileMetadata {
  /** The commit the revision pointed at when asked (X-Repo-Commit). */
  commit: string;
  /** sha256 for LFS files, the git blob sha1 for others; the blob's name in the cache. */
  etag: string;
  /** Bytes of the file itself (X-Linked-Size on a redirect, else Content-Length). */
  size: number;
  /** Where its bytes are: a CDN URL for LFS files, else the resolve URL itself. */
  location: string;
}

/** Request headers for the Hub: the token as `Authorization: Bearer`, when there is one. */
export function authHeaders(token: string | undefined | null): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** `W/"abc"` or `"abc"` -> `abc`. */
export function normalizeEtag(etag: string | null): string | undefined {
  if (etag === null) return undefined;
  return etag.replace(/^W\//, '').replace(/^"+|"+$/g, '') || undefined;
}

const intHeader = (v: string | null): number | undefined => (v !== null && /^\d+$/.test(v.trim()) ? Number(v) : undefined);

/** The size of an LFS file the Hub states on its redirect (X-Linked-Size), when it does. */
export const linkedSize = (r: Response): number | undefined => intHeader(r.headers.get('x-linked-size'));

/**
 * Metadata from the answer to HEAD on a resolve URL (`url`) with redirects not followed.
 * Throws 'bad-response' when the commit, ETag or size is missing: the server is not the Hub
 * (a proxy, a captive portal) and nothing it sends could be cached reliably.
 */
export function fileMetadata(r: Response, url: string): HubFileMetadata {
  const redirect = r.status >= 300 && r.status < 400;
  const commit = r.headers.get('x-repo-commit') ?? undefined;
  const etag = normalizeEtag(r.headers.get('x-linked-etag') ?? r.headers.get('etag'));
  const size = linkedSize(r) ?? (redirect ? undefined : intHeader(r.headers.get('content-length')));
  const location = r.headers.get('location');
  const missing = [!commit && 'X-Repo-Commit', !etag && 'ETag', size === undefined && 'a size'].filter(Boolean);
  if (missing.length) {
    throw new HubError('bad-response', `${url} answered without ${missing.join(', ')}: is it a Hugging Face Hub endpoint (HF_ENDPOINT)?`, { url, status: r.status });
  }
  return { commit: commit!, etag: etag!, size: size!, location: location ? new URL(location, url).href : url };
}

export interface FailureContext {
  ref: RepoRef;
  file: string;
  url: string;
  endpoint: string;
  /** Whether the request carried a token: changes what the user should do. */
  tokenSent: boolean;
}

// The CLI's words; the site says the same for the same codes in its own terms.
const HOW_TO_PASS_TOKEN = 'set HF_TOKEN or pass --token T';

/** The HubError for a failed answer (status >= 400) to a request for `ctx.file`. */
export function failure(r: Response, ctx: FailureContext): HubError {
  const { ref, file, url, endpoint, tokenSent } = ctx;
  const code = r.headers.get('x-error-code');
  const serverSays = r.headers.get('x-error-message');
  const details = { repo: ref.repo, revision: ref.revision, file, url, status: r.status };
  const answered = `${url} answered ${r.status}${code ? ` ${code}` : ''}`;
  const page = repoPageUrl(endpoint, ref.repo);
  switch (code) {
    case 'RepoNotFound':
      return new HubError('repo-not-found', `no model repository "${ref.repo}" on ${endpoint} (${answered}); if it is private, ${tokenSent
        ? 'the token given cannot read it' : HOW_TO_PASS_TOKEN}`, details);
    case 'RevisionNotFound':
      return new HubError('revision-not-found', `${ref.repo} has no revision "${ref.revision}", no such branch, tag or commit (${answered})`, details);
    case 'EntryNotFound':
      return new HubError('entry-not-found', `${ref.repo}@${ref.revision} has no file "${file}" (${answered})`, details);
    case 'GatedRepo':
      return new HubError('gated', tokenSent
        ? `${ref.repo} is a gated model and the token given has no access yet (${answered}): accept its conditions at ${page} with the account the token belongs to`
        : `${ref.repo} is a gated model (${answered}): accept its conditions at ${page}, then ${HOW_TO_PASS_TOKEN}`, details);
  }
  const why = serverSays ? `, "${serverSays.slice(0, 200)}"` : '';
  // A refusal from where an LFS file is stored (a CDN link, signed and short-lived) is not about the token.
  const from = r.url || url;
  if (!sameHost(from, endpoint)) {
    return new HubError('http', `${from} (where the Hub stores ${file}) answered ${r.status} ${r.statusText}${why}`.trimEnd()
      + '; run again for a fresh link', { ...details, url: from });
  }
  if (r.status === 401) {
    return new HubError('unauthorized', tokenSent
      ? `the token was refused (${answered}${why}): check it`
      : `${ref.repo} needs an access token (${answered}${why}): ${HOW_TO_PASS_TOKEN}`, details);
  }
  if (r.status === 403) {
    return new HubError('forbidden', `access to ${ref.repo} is forbidden (${answered}${why}): ${tokenSent
      ? 'check that the token has read access' : `if it is private or gated, ${HOW_TO_PASS_TOKEN}`}`, details);
  }
  return new HubError('http', `${answered} ${r.statusText}${why}`.trimEnd(), details);
}

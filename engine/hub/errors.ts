// What can go wrong when fetching a model from the Hugging Face Hub, as a type with a code, so a
// caller (the CLI, the site's open dialog) can say what to do without matching message text.
// Browser- and worker-safe.

export type HubErrorCode =
  | 'bad-repo-id'        // not "org/name[@revision]"
  | 'bad-endpoint'       // HF_ENDPOINT (or the endpoint given) is not an http(s) URL
  | 'bad-file-name'      // a file name that would leave the repository's folder ('..', an absolute path)
  | 'repo-not-found'     // no such repository, or a private one the token cannot read (X-Error-Code: RepoNotFound)
  | 'revision-not-found' // the repository has no such branch, tag or commit (RevisionNotFound)
  | 'entry-not-found'    // the revision has no such file (EntryNotFound)
  | 'gated'              // a gated repository: no token, or a token not yet granted access (GatedRepo)
  | 'unauthorized'       // 401 without a Hub error code: a bad or missing token
  | 'forbidden'          // 403 without a Hub error code: the token lacks a permission
  | 'http'               // any other HTTP failure (5xx, an expired CDN link, ...)
  | 'bad-response'       // the server answered without what the Hub always sends (commit, ETag, size)
  | 'network'            // the server could not be reached, or did not answer in time
  | 'interrupted'        // the connection was cut during a download: what arrived is kept, run again to resume
  | 'corrupt'            // the downloaded bytes do not match the Hub's size or hash for them
  | 'offline';           // offline mode (HF_HUB_OFFLINE) and the file is not in the cache

export interface HubErrorDetails {
  repo?: string;
  revision?: string;
  file?: string;
  url?: string;
  status?: number;
}

export class HubError extends Error {
  override readonly name = 'HubError';
  readonly repo?: string;
  readonly revision?: string;
  readonly file?: string;
  readonly url?: string;
  readonly status?: number;
  constructor(readonly code: HubErrorCode, message: string, details: HubErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    Object.assign(this, details);
  }
}

/** The short reason a failed fetch() gives: "ECONNREFUSED", "getaddrinfo ENOTFOUND host", ... */
export function networkReason(e: unknown): string {
  if (e instanceof DOMException && (e.name === 'TimeoutError')) return 'no answer in time';
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  const parts = [cause?.code, cause?.message].filter((s): s is string => !!s);
  if (parts.length) return [...new Set(parts)].join(': ');
  return e instanceof Error ? e.message : String(e);
}

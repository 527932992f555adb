// Where a file of a Hub repository lives: `{endpoint}/{repo}/resolve/{revision}/{file}`, encoded
// as huggingface_hub's hf_hub_url does (the revision with every reserved character escaped, so
// "refs/pr/1" is one segment; the file name keeping its '/'). The endpoint follows the Hub's
// convention: HF_ENDPOINT when set, else the public Hub, without a trailing '/'.
// Browser- and worker-safe.
import { HubError } from './errors.ts';
import type { RepoRef } from './repo-ref.ts';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** An endpoint as given (HF_ENDPOINT, an option), checked and without trailing '/'. */
export function normalizeEndpoint(endpoint: string | undefined): string {
  const e = (endpoint ?? '').trim().replace(/\/+$/, '');
  if (e === '') return DEFAULT_ENDPOINT;
  let url: URL;
  try { url = new URL(e); } catch {
    throw new HubError('bad-endpoint', `the Hub endpoint "${e}" is not a URL (HF_ENDPOINT should look like ${DEFAULT_ENDPOINT})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HubError('bad-endpoint', `the Hub endpoint "${e}" must be an http(s) URL`);
  }
  return e;
}

/**
 * Percent-encode as Python's urllib.parse.quote: everything except letters, digits, '_.-~' and
 * the `safe` characters. (encodeURIComponent also leaves !'()* alone; the Hub's URLs do not.)
 */
export function quote(s: string, safe = '/'): string {
  return Array.from(new TextEncoder().encode(s), (b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9_.~-]/.test(c) || (b < 0x80 && safe.includes(c)) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
}

/** `{endpoint}/{repo}/resolve/{revision}/{file}`. */
export function resolveUrl(endpoint: string, ref: RepoRef, file: string): string {
  return `${normalizeEndpoint(endpoint)}/${ref.repo}/resolve/${quote(ref.revision, '')}/${quote(file)}`;
}

/** The repository's page, where a user accepts a gated model's conditions. */
export function repoPageUrl(endpoint: string, repo: string): string {
  return `${normalizeEndpoint(endpoint)}/${repo}`;
}

/** host:port of a URL: a redirect to another one (a CDN) must not carry the token. */
export function sameHost(a: string, b: string): boolean {
  return new URL(a).host === new URL(b).host;
}

// The Hub's answers read into metadata and typed errors that say what to do.
import { describe, expect, it } from 'vitest';
import { failure, fileMetadata, normalizeEtag, type FailureContext } from './responses.ts';

const answer = (status: number, headers: Record<string, string>) => new Response(null, { status, headers });
const ctx = (tokenSent: boolean): FailureContext => ({
  ref: { repo: 'org/name', revision: 'main' }, file: 'config.json', url: 'https://hub/org/name/resolve/main/config.json',
  endpoint: 'https://hub', tokenSent,
});

describe('fileMetadata', () => {
  it('reads an LFS redirect: X-Linked-Etag and X-Linked-Size, not the redirect body size', () => {
    const m = fileMetadata(answer(302, {
      'x-repo-commit': 'c'.repeat(40), 'x-linked-etag': `"${'a'.repeat(64)}"`, 'x-linked-size': '123456',
      etag: '"other"', 'content-length': '30', location: 'https://cdn.example/blob?sig=1',
    }), 'https://hub/o/n/resolve/main/model.safetensors');
    expect(m).toEqual({ commit: 'c'.repeat(40), etag: 'a'.repeat(64), size: 123456, location: 'https://cdn.example/blob?sig=1' });
  });

  it('reads a git file answered directly: ETag without quotes, Content-Length, the URL itself', () => {
    const url = 'https://hub/o/n/resolve/main/config.json';
    expect(fileMetadata(answer(200, { 'x-repo-commit': 'c'.repeat(40), etag: `W/"${'b'.repeat(40)}"`, 'content-length': '664' }), url))
      .toEqual({ commit: 'c'.repeat(40), etag: 'b'.repeat(40), size: 664, location: url });
  });

  it('refuses an answer without the Hub headers, naming what is missing', () => {
    expect(() => fileMetadata(answer(200, { 'content-length': '1' }), 'http://proxy/x')).toThrow(/without X-Repo-Commit, ETag.*HF_ENDPOINT/);
  });

  it('normalizes weak and quoted ETags', () => {
    expect(normalizeEtag('W/"abc"')).toBe('abc');
    expect(normalizeEtag('"abc"')).toBe('abc');
    expect(normalizeEtag(null)).toBeUndefined();
  });
});

describe('failure', () => {
  const err = (status: number, code?: string, token = false) =>
    failure(answer(status, code ? { 'x-error-code': code } : {}), ctx(token));

  it('a gated repository without a token: says so, where to accept, and how to pass a token', () => {
    const e = err(401, 'GatedRepo');
    expect(e.code).toBe('gated');
    expect(e.message).toMatch(/org\/name is a gated model/);
    expect(e.message).toContain('https://hub/org/name');
    expect(e.message).toMatch(/HF_TOKEN.*--token/);
  });

  it('a gated repository with a token not granted: says to accept the conditions', () => {
    const e = err(403, 'GatedRepo', true);
    expect(e.code).toBe('gated');
    expect(e.message).toMatch(/no access yet \(.*403 GatedRepo\): accept its conditions/);
  });

  it('tells a missing repository, revision and file apart', () => {
    expect(err(401, 'RepoNotFound').code).toBe('repo-not-found');
    expect(err(401, 'RepoNotFound').message).toMatch(/no model repository "org\/name".*private.*HF_TOKEN/);
    expect(err(404, 'RepoNotFound', true).message).toMatch(/token given cannot read it/);
    expect(err(404, 'RevisionNotFound').message).toMatch(/has no revision "main", no such branch, tag or commit/);
    expect(err(404, 'EntryNotFound').message).toMatch(/has no file "config.json"/);
  });

  it('401 and 403 without a Hub code are about the token', () => {
    expect(err(401).code).toBe('unauthorized');
    expect(err(401).message).toMatch(/needs an access token/);
    expect(err(401, undefined, true).message).toMatch(/token was refused/);
    expect(err(403).code).toBe('forbidden');
  });

  it('a refusal from the storage a file was redirected to is not blamed on the token', () => {
    const r = answer(403, {});
    Object.defineProperty(r, 'url', { value: 'https://cdn.example/blob?sig=old' });
    const e = failure(r, ctx(false));
    expect(e.code).toBe('http');
    expect(e.message).toMatch(/^https:\/\/cdn.example\/blob\?sig=old \(where the Hub stores config.json\) answered 403.*run again for a fresh link$/);
  });

  it('anything else names the URL and status', () => {
    const e = err(503);
    expect(e.code).toBe('http');
    expect(e.status).toBe(503);
    expect(e.message).toContain('https://hub/org/name/resolve/main/config.json answered 503');
  });
});

// Resolve URLs, encoded as huggingface_hub's hf_hub_url encodes them.
import { describe, expect, it } from 'vitest';
import { DEFAULT_ENDPOINT, normalizeEndpoint, quote, resolveUrl, sameHost } from './urls.ts';

describe('resolveUrl', () => {
  it('is {endpoint}/{repo}/resolve/{revision}/{file}', () => {
    expect(resolveUrl(DEFAULT_ENDPOINT, { repo: 'org/name', revision: 'main' }, 'config.json'))
      .toBe('https://huggingface.co/org/name/resolve/main/config.json');
  });

  it('escapes the whole revision (a PR ref is one segment) and the file name except its slashes', () => {
    expect(resolveUrl('http://hub.local:8080/', { repo: 'o/n', revision: 'refs/pr/1' }, 'sub dir/a+b(1).json'))
      .toBe('http://hub.local:8080/o/n/resolve/refs%2Fpr%2F1/sub%20dir/a%2Bb%281%29.json');
  });

  it('escapes as Python quote does: letters, digits and _.-~ stay; UTF-8 bytes are escaped', () => {
    expect(quote("a-b_c.d~e!*'()/é")).toBe('a-b_c.d~e%21%2A%27%28%29/%C3%A9');
    expect(quote('a/b', '')).toBe('a%2Fb');
  });
});

describe('normalizeEndpoint', () => {
  it('defaults to the public Hub and drops trailing slashes', () => {
    expect(normalizeEndpoint(undefined)).toBe('https://huggingface.co');
    expect(normalizeEndpoint('')).toBe('https://huggingface.co');
    expect(normalizeEndpoint('http://127.0.0.1:9000//')).toBe('http://127.0.0.1:9000');
  });

  it('refuses what is not an http(s) URL', () => {
    expect(() => normalizeEndpoint('huggingface.co')).toThrow(/not a URL/);
    expect(() => normalizeEndpoint('ftp://mirror')).toThrow(/http/);
  });
});

it('sameHost compares host and port (a CDN on another port is another host)', () => {
  expect(sameHost('http://a:1/x', 'http://a:1/y')).toBe(true);
  expect(sameHost('http://a:1/x', 'http://a:2/x')).toBe(false);
  expect(sameHost('https://huggingface.co/x', 'https://cdn-lfs.hf.co/y')).toBe(false);
});

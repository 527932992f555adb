// The environment read as huggingface_hub reads it.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hubCacheDir, hubSettings, hubToken } from './node-settings.ts';

describe('hubSettings', () => {
  it('defaults: the public Hub, ~/.cache/huggingface/hub, online, 10 s timeouts', () => {
    const s = hubSettings({ HOME: '/home/u' });
    expect(s).toMatchObject({ endpoint: 'https://huggingface.co', cacheDir: '/home/u/.cache/huggingface/hub', offline: false, etagTimeoutMs: 10_000 });
  });

  it('HF_ENDPOINT overrides the Hub (trailing slash dropped)', () => {
    expect(hubSettings({ HOME: '/h', HF_ENDPOINT: 'http://127.0.0.1:5000/' }).endpoint).toBe('http://127.0.0.1:5000');
  });

  it('the cache: HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub', () => {
    expect(hubCacheDir({ HOME: '/h', HF_HUB_CACHE: '/c', HF_HOME: '/x' })).toBe('/c');
    expect(hubCacheDir({ HOME: '/h', HUGGINGFACE_HUB_CACHE: '/legacy' })).toBe('/legacy');
    expect(hubCacheDir({ HOME: '/h', HF_HOME: '/hf' })).toBe('/hf/hub');
    expect(hubCacheDir({ HOME: '/h', XDG_CACHE_HOME: '/xdg' })).toBe('/xdg/huggingface/hub');
    expect(hubCacheDir({ HOME: '/h', HF_HUB_CACHE: '~/hub-$USER', USER: 'ann' })).toBe('/h/hub-ann');
  });

  it('offline with HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to 1/ON/YES/TRUE', () => {
    for (const v of ['1', 'on', 'YES', 'true']) expect(hubSettings({ HOME: '/h', HF_HUB_OFFLINE: v }).offline).toBe(true);
    expect(hubSettings({ HOME: '/h', HF_HUB_OFFLINE: '0' }).offline).toBe(false);
    expect(hubSettings({ HOME: '/h', TRANSFORMERS_OFFLINE: '1' }).offline).toBe(true);
  });

  it('the token: HF_TOKEN, else the file `hf auth login` writes under HF_HOME', () => {
    const home = mkdtempSync(path.join(tmpdir(), 'mixscope-hfhome-'));
    expect(hubToken({ HF_HOME: home })).toBeUndefined();
    writeFileSync(path.join(home, 'token'), 'hf_file\n');
    expect(hubToken({ HF_HOME: home })).toBe('hf_file');
    expect(hubToken({ HF_HOME: home, HF_TOKEN: 'hf_env' })).toBe('hf_env');
  });
});

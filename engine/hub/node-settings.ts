// The Hub settings a Node process takes from its environment, named and defaulted as
// huggingface_hub's constants.py does, so one set of variables serves Python and Mixscope:
//   HF_ENDPOINT      the Hub (default https://huggingface.co)
//   HF_HUB_CACHE     the cache; else HUGGINGFACE_HUB_CACHE; else $HF_HOME/hub, HF_HOME defaulting to
//                    $XDG_CACHE_HOME/huggingface, then ~/.cache/huggingface
//   HF_TOKEN         the access token; else the file `hf auth login` writes ($HF_TOKEN_PATH, default
//                    $HF_HOME/token)
//   HF_HUB_OFFLINE   1/ON/YES/TRUE: never ask the Hub, use only the cache (TRANSFORMERS_OFFLINE too)
//   HF_HUB_ETAG_TIMEOUT, HF_HUB_DOWNLOAD_TIMEOUT   seconds to wait for an answer (default 10)
// Node-only.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { normalizeEndpoint } from './urls.ts';

export type Env = Record<string, string | undefined>;

export interface HubSettings {
  endpoint: string;
  cacheDir: string;
  token: string | undefined;
  offline: boolean;
  /** Milliseconds to wait for the answer to a metadata request. */
  etagTimeoutMs: number;
  /** Milliseconds a download may go without receiving a byte. */
  downloadTimeoutMs: number;
}

const TRUE_VALUES = new Set(['1', 'ON', 'YES', 'TRUE']);
const isTrue = (v: string | undefined) => v !== undefined && TRUE_VALUES.has(v.toUpperCase());
const set = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);

/** `~` and `$VAR`/`${VAR}` expanded, as Python's expanduser(expandvars(...)) does. */
function expand(p: string, env: Env): string {
  const vars = p.replace(/\$(\w+)|\$\{(\w+)\}/g, (m, a, b) => env[a ?? b] ?? m);
  return vars === '~' || vars.startsWith('~/') ? path.join(env.HOME ?? homedir(), vars.slice(1)) : vars;
}

function seconds(v: string | undefined, fallback: number): number {
  const n = Number(v);
  return (v !== undefined && v.trim() !== '' && Number.isFinite(n) && n > 0 ? n : fallback) * 1000;
}

/** HF_HOME: $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
export function hfHome(env: Env = process.env): string {
  const fallback = path.join(set(env.XDG_CACHE_HOME) ?? path.join(env.HOME ?? homedir(), '.cache'), 'huggingface');
  return expand(set(env.HF_HOME) ?? fallback, env);
}

/** The Hub cache folder, as huggingface_hub finds it. */
export function hubCacheDir(env: Env = process.env): string {
  return expand(set(env.HF_HUB_CACHE) ?? set(env.HUGGINGFACE_HUB_CACHE) ?? path.join(hfHome(env), 'hub'), env);
}

/** The token from HF_TOKEN, else from the token file of `hf auth login`; undefined when neither. */
export function hubToken(env: Env = process.env): string | undefined {
  const fromEnv = set(env.HF_TOKEN?.trim()) ?? set(env.HUGGING_FACE_HUB_TOKEN?.trim());
  if (fromEnv) return fromEnv;
  const file = expand(set(env.HF_TOKEN_PATH) ?? path.join(hfHome(env), 'token'), env);
  try { return set(readFileSync(file, 'utf8').trim()); } catch { return undefined; }
}

export function hubSettings(env: Env = process.env): HubSettings {
  return {
    endpoint: normalizeEndpoint(env.HF_ENDPOINT),
    cacheDir: hubCacheDir(env),
    token: hubToken(env),
    offline: isTrue(env.HF_HUB_OFFLINE || env.TRANSFORMERS_OFFLINE),
    etagTimeoutMs: seconds(env.HF_HUB_ETAG_TIMEOUT, 10),
    downloadTimeoutMs: seconds(env.HF_HUB_DOWNLOAD_TIMEOUT, 10),
  };
}

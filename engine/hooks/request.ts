// What a caller asks of the hooks for one forward call: which points to observe (names or
// glob patterns) and which function hooks to run. Nothing is captured that nobody asked for.
import type { MixtralConfig } from '../config.ts';
import { RequestError } from '../errors.ts';
import { hookNames } from './names.ts';

/** A hook tensor: row-major data with its shape. */
export interface HookTensor { shape: number[]; data: Float32Array }
/** The value of `blocks.{l}.moe.hook_expert_choice`: shape (T, K). */
export interface ExpertChoice { shape: number[]; indices: Int32Array; weights: Float32Array }
export type HookValue = HookTensor | ExpertChoice;

export interface HookContext {
  name: string;
  layer: number | null;
  /** Absolute position of the first token of this call. */
  position: number;
}

/**
 * A function hook sees a tensor and may return a replacement of the same shape
 * (or nothing, to leave it as it is). It runs before observation, so the cache holds what flowed on.
 */
export type HookFn = (value: HookValue, ctx: HookContext) => HookValue | void;

export interface HookRequest {
  /** Names or patterns (`*` matches any run of characters, e.g. `blocks.*.moe.*`). */
  observe?: readonly string[];
  /** Function hooks by exact name or pattern. */
  fns?: Readonly<Record<string, HookFn>>;
}

export function patternToRegExp(pattern: string): RegExp {
  const escaped = pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${escaped}$`);
}

/** Expand names/patterns against the model's hook names; a pattern that matches nothing is an error. */
export function resolveHookNames(config: MixtralConfig, patterns: readonly string[]): Set<string> {
  const all = hookNames(config);
  const chosen = new Set<string>();
  for (const p of patterns) {
    const re = patternToRegExp(p);
    const hits = all.filter((n) => re.test(n));
    if (hits.length === 0) throw new RequestError(`hook "${p}" matches no hook point of this model (see hookNames())`);
    hits.forEach((n) => chosen.add(n));
  }
  return chosen;
}

/** The per-call hook state the forward pass consults: what to capture, what to call. */
export class HookRun {
  readonly cache = new Map<string, HookValue>();
  private readonly observed: Set<string>;
  private readonly fns: Map<string, HookFn[]>;

  constructor(config: MixtralConfig, request: HookRequest | undefined, readonly position: number) {
    this.observed = resolveHookNames(config, request?.observe ?? []);
    this.fns = new Map();
    for (const [pattern, fn] of Object.entries(request?.fns ?? {})) {
      for (const name of resolveHookNames(config, [pattern])) {
        const list = this.fns.get(name) ?? [];
        list.push(fn);
        this.fns.set(name, list);
      }
    }
  }

  /** True when the forward needs to materialise this hook point at all. */
  wants(name: string): boolean {
    return this.observed.has(name) || this.fns.has(name);
  }

  /**
   * Pass a value through the hook point: run function hooks (which may replace it),
   * capture a copy if observed, and return what flows on.
   */
  apply<V extends HookValue>(name: string, value: V, layer: number | null): V {
    let v: HookValue = value;
    for (const fn of this.fns.get(name) ?? []) {
      const r = fn(v, { name, layer, position: this.position });
      if (r !== undefined) {
        checkReplacement(name, v, r);
        v = r;
      }
    }
    if (this.observed.has(name)) this.cache.set(name, copyValue(v));
    return v as V;
  }
}

function checkReplacement(name: string, before: HookValue, after: HookValue): void {
  const same = before.shape.length === after.shape.length && before.shape.every((d, i) => d === after.shape[i]);
  const kindSame = ('data' in before) === ('data' in after);
  if (!same || !kindSame) {
    throw new RequestError(`function hook on "${name}" returned shape [${after.shape}] where [${before.shape}] was expected`);
  }
}

function copyValue(v: HookValue): HookValue {
  if ('data' in v) return { shape: [...v.shape], data: v.data.slice() };
  return { shape: [...v.shape], indices: v.indices.slice(), weights: v.weights.slice() };
}

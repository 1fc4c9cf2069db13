import type { CacheKey } from '../core/cache-key.js';
import type { CacheValue } from '../core/cache-value.js';
import { InvalidOptionError } from '../core/errors.js';
import { checkTags } from './tags.js';

const NO_TAGS: readonly string[] = Object.freeze([]);

/**
 * How long a `getOrSet` entry lives, when it turns stale, and how long callers wait. Every time is in
 * milliseconds and must be an integer.
 *
 * # Examples
 * ```ts
 * // Fresh for a minute, then served stale for up to an hour while one caller refreshes it.
 * await backend.getOrSet(key, loadUser, { ttl: 3_600_000, staleAfter: 60_000, hardTimeout: 2_000 });
 * ```
 */
export interface GetOrSetOptions {
  /** How long the stored entry lives (its `expire`), a positive integer. Required. */
  readonly ttl: number;
  /**
   * After how long the stored entry is stale: still returned, while one caller in the whole deployment
   * refreshes it in the background. It is also the fail-safe window: a refresh that fails leaves the
   * stale value served until `ttl`.
   *
   * # Default
   * `ttl`: never stale.
   */
  readonly staleAfter?: number;
  /**
   * How long a caller waits for another caller's factory (anywhere in the deployment) before it takes
   * over that caller's lease and runs its own; also how long a failed background refresh waits before
   * the next one. A lease holder that dies is taken over after this long.
   *
   * # Default
   * 10 000 (10 s).
   */
  readonly lockTimeout?: number;
  /**
   * With a stale value at hand, how long the caller that refreshes it waits for the fresh value before it
   * returns the stale one while the factory goes on.
   *
   * # Default
   * 0: the stale value is returned at once (as every other caller gets it).
   */
  readonly softTimeout?: number;
  /**
   * How long a caller waits in all, for the cache, a lease and the factory, before the call rejects with
   * `FactoryTimeoutError`. The factory is not stopped: it may still finish and store its value.
   *
   * # Default
   * None: the caller waits for the factory however long it takes.
   */
  readonly hardTimeout?: number;
  /**
   * Tags the stored entry is written with (see `RedisBackend.invalidateTags`): non-empty strings, at most
   * 64. Their tokens are read before the factory runs, so an invalidation while it runs voids its value.
   *
   * # Default
   * None.
   */
  readonly tags?: readonly string[];
}

/**
 * What a `getOrSet` factory is given.
 *
 * # Examples
 * ```ts
 * await backend.getOrSet(key, async ({ stale, signal }) => {
 *   const response = await fetch(url, { signal, headers: stale ? { 'if-none-match': etagOf(stale.data) } : {} });
 *   return response.json();
 * }, { ttl: 60_000 });
 * ```
 */
export interface FactoryContext<T> {
  /** The stale entry being refreshed, or `null` when there was none (a missing entry). */
  readonly stale: CacheValue<T> | null;
  /** Aborted when the backend is closed while the factory runs. */
  readonly signal: AbortSignal;
}

/** Computes the value of a missing or stale entry for `getOrSet`. */
export type Factory<T> = (context: FactoryContext<T>) => Promise<T>;

/** Default of {@link GetOrSetOptions.lockTimeout}. */
export const DEFAULT_LOCK_TIMEOUT = 10_000;

/** {@link GetOrSetOptions} checked, with the defaults filled in; `staleAfter` is `null` when never stale. */
export interface ResolvedOptions {
  readonly ttl: number;
  readonly staleAfter: number | null;
  readonly lockTimeout: number;
  readonly softTimeout: number;
  readonly hardTimeout: number | null;
  readonly tags: readonly string[];
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function refuse(reason: string, key: CacheKey): never {
  throw new InvalidOptionError(reason, { operation: 'getOrSet', key: key.toString() });
}

function timeout(options: GetOrSetOptions, name: 'lockTimeout' | 'softTimeout' | 'hardTimeout', key: CacheKey): number | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) {
    refuse(`${name} must be a non-negative integer number of milliseconds, got ${describe(value)}`, key);
  }
  return value;
}

/** Checks the `options` of a `getOrSet` of `key` and fills in the defaults; throws `InvalidOptionError` naming the bad option. */
export function resolveOptions(options: GetOrSetOptions, key: CacheKey): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    refuse(`options must be an object with at least ttl, got ${describe(options)}`, key);
  }
  const { ttl, staleAfter } = options;
  if (!Number.isSafeInteger(ttl) || ttl <= 0) {
    refuse(`ttl must be a positive integer number of milliseconds, got ${describe(ttl)}`, key);
  }
  if (staleAfter !== undefined && (!Number.isSafeInteger(staleAfter) || staleAfter <= 0 || staleAfter > ttl)) {
    refuse(`staleAfter must be an integer number of milliseconds in (0, ttl = ${ttl}], got ${describe(staleAfter)}`, key);
  }
  return {
    ttl,
    staleAfter: staleAfter === undefined || staleAfter === ttl ? null : staleAfter,
    lockTimeout: timeout(options, 'lockTimeout', key) ?? DEFAULT_LOCK_TIMEOUT,
    softTimeout: timeout(options, 'softTimeout', key) ?? 0,
    hardTimeout: timeout(options, 'hardTimeout', key) ?? null,
    tags: options.tags === undefined ? NO_TAGS : checkTags(options.tags, { operation: 'getOrSet', key: key.toString() }),
  };
}

/** Freshness of a cached value at a given moment; see {@link CacheValue.cacheState}. */
export type CacheState = 'actual' | 'stale' | 'expired';

/**
 * A cached value with its lifetime, as in hitbox: `data`, an optional `expire` time (the entry is gone
 * after it) and an optional `stale` time (the entry is still served after it, but should be refreshed).
 *
 * # Default
 * `expire` and `stale` are `null`: the entry never expires and never goes stale.
 *
 * # Caveats
 * Read back from Redis, `expire` is `now + PTTL` at the moment the reply arrived, so it can differ from
 * the written time by the round trip (a few milliseconds); `stale` is exact to the millisecond.
 *
 * # Examples
 * ```ts
 * const now = Date.now();
 * const value = new CacheValue(Buffer.from('hello'), new Date(now + 60_000), new Date(now + 30_000));
 * value.ttl();        // about 60000
 * value.cacheState(); // 'actual'
 * ```
 */
export class CacheValue<T> {
  /** The cached data: bytes in the raw layer (`read`, `write`), any value of the value format in the typed layer. */
  readonly data: T;
  /**
   * When the entry expires: Redis removes it then (its TTL). `null`: it never expires.
   *
   * # Caveats
   * An expire that is not in the future when written stores nothing and removes the old entry.
   */
  readonly expire: Date | null;
  /**
   * When the entry goes stale: it is still served afterwards, but {@link cacheState} says `'stale'` and
   * `getOrSet` refreshes it. `null`: it never goes stale.
   */
  readonly stale: Date | null;

  /**
   * A value with the given lifetime. Nothing is checked here: writing it refuses an invalid `Date` with
   * `InvalidValueError`, before anything is sent.
   *
   * # Default
   * `expire` and `stale` are `null`.
   */
  constructor(data: T, expire: Date | null = null, stale: Date | null = null) {
    this.data = data;
    this.expire = expire;
    this.stale = stale;
  }

  /** Milliseconds from `now` until `expire` (0 once passed), or `null` when the value never expires. */
  ttl(now: number = Date.now()): number | null {
    return this.expire === null ? null : Math.max(0, this.expire.getTime() - now);
  }

  /**
   * `'expired'` once `expire` is reached, else `'stale'` once `stale` is reached, else `'actual'`.
   */
  cacheState(now: Date = new Date()): CacheState {
    const at = now.getTime();
    if (this.expire !== null && this.expire.getTime() <= at) return 'expired';
    if (this.stale !== null && this.stale.getTime() <= at) return 'stale';
    return 'actual';
  }
}

/** The largest time a `Date` holds: an expire written there must not read back as `Invalid Date`. */
const MAX_DATE_MS = 8.64e15;

/**
 * @internal The value a read script replied: `expire` is now plus the entry's PTTL (none when it has no
 * TTL), `stale` the stored epoch milliseconds.
 */
export function valueFromReply<T>(data: T, stale: number | null, pttl: number): CacheValue<T> {
  const expire = pttl >= 0 ? new Date(Math.min(Date.now() + pttl, MAX_DATE_MS)) : null;
  return new CacheValue(data, expire, stale === null ? null : new Date(stale));
}

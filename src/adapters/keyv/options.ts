import { ConfigurationError } from '../../core/errors.js';
import type { DriverName } from '../../driver/driver.js';

/**
 * Options of a {@link KeyvRedisLua} store.
 *
 * # Examples
 * ```ts
 * new KeyvRedisLua('redis://localhost:6379', { prefix: 'sessions', driver: 'node-redis' });
 * ```
 */
export interface KeyvRedisLuaOptions {
  /**
   * The prefix of every cache key the store writes: its keys are `_prefix=<prefix>&_version=1&...` under
   * the default key format, so one ACL pattern (`~_prefix=<prefix>&*`) covers them.
   *
   * # Default
   * `'keyv'`
   */
  readonly prefix?: string;
  /**
   * The namespace, until Keyv sets its own (`new Keyv({ store })` sets the store's to Keyv's, `'keyv'` by default).
   *
   * # Default
   * none
   */
  readonly namespace?: string;
  /**
   * Keys per SCAN page for `clear` and the iterator (SCAN's COUNT, per node); each page is then removed or
   * read with the batch scripts, 100 keys a call.
   *
   * # Default
   * `1000`
   */
  readonly scanCount?: number;
  /**
   * Reject a failed call with its error as well as emitting it as `error`.
   *
   * # Default
   * `false`: a failure is emitted, and the call resolves as a miss (`undefined`, `false`, an iteration that ends).
   */
  readonly throwOnErrors?: boolean;
  /**
   * With a URL: the client library of the backend the store creates.
   *
   * # Default
   * `'ioredis'`
   */
  readonly driver?: DriverName;
}

/** The options, checked and with their defaults. */
export interface StoreSettings {
  readonly prefix: string;
  readonly namespace: string | undefined;
  readonly scanCount: number;
  readonly throwOnErrors: boolean;
}

/** `options` checked; a bad one is a `ConfigurationError` naming it. */
export function checkOptions(options: KeyvRedisLuaOptions | undefined): StoreSettings {
  const { prefix = 'keyv', namespace, scanCount = 1000, throwOnErrors = false } = options ?? {};
  if (typeof prefix !== 'string') throw new ConfigurationError(`prefix must be a string, got ${typeof prefix}`);
  if (namespace !== undefined && typeof namespace !== 'string') throw new ConfigurationError(`namespace must be a string, got ${typeof namespace}`);
  if (!Number.isInteger(scanCount) || scanCount <= 0) throw new ConfigurationError(`scanCount must be a positive integer, got ${String(scanCount)}`);
  if (typeof throwOnErrors !== 'boolean') throw new ConfigurationError(`throwOnErrors must be a boolean, got ${typeof throwOnErrors}`);
  return { prefix, namespace, scanCount, throwOnErrors };
}

import { EventEmitter } from 'node:events';

import { RedisBackend } from '../../backend/backend.js';
import type { CacheKey } from '../../core/cache-key.js';
import type { CacheValue } from '../../core/cache-value.js';
import { InvalidKeyError, InvalidValueError, type Operation } from '../../core/errors.js';
import { ConnectionMode } from '../../driver/connection-mode.js';
import { KeyvKeys, type NamespaceScan } from './keys.js';
import { checkOptions, type KeyvRedisLuaOptions, type StoreSettings } from './options.js';
import { entryOf, valueOf } from './values.js';

/** What the store's `opts` show Keyv: `dialect: 'redis'` is what makes Keyv offer `keyv.iterator()`. */
export interface KeyvRedisLuaOpts {
  /** Which kind of store this is, for Keyv: `'redis'`. */
  readonly dialect: 'redis';
  /** The redacted URL (`redis://user:***@host:port`), or `'backend'` for a backend given to the store. */
  readonly url: string;
  /** The key prefix of every entry the store writes (see {@link KeyvRedisLuaOptions}). */
  readonly prefix: string;
  /** The COUNT hint of each SCAN that `clear` and the iterator send. */
  readonly scanCount: number;
  /** Keyv reads other options off `opts`; a store has none more. */
  [option: string]: unknown;
}

/**
 * A Keyv 5 store (`KeyvStoreAdapter`) over a {@link RedisBackend}: every operation is one of the backend's
 * atomic scripts (the batch scripts for `getMany`, `setMany`, `deleteMany`, `hasMany`), on either driver,
 * on a single node or a cluster. `clear` and the iterator SCAN every primary for the store's namespace only.
 *
 * # Default
 * Created from a URL, it builds a backend with the builder's defaults (ioredis, or `options.driver`) and
 * closes it on `disconnect()`. A backend given to it stays the caller's: `disconnect()` leaves it open and
 * the store usable.
 *
 * # Caveats
 * - Failures are emitted as `error` (typed `BackendError`s, no credentials in them) and the call resolves as
 *   a miss (`undefined`, `false`, an iteration that ends), as Keyv's own stores do; `throwOnErrors` rejects
 *   too. Like any `EventEmitter`, without an `error` listener the call rejects with the error.
 * - Values are strings (Keyv's serialized values), stored as UTF-8 in the entry's field `d`; a Buffer is
 *   stored as its bytes and read back as text.
 * - Keyv sets the store's `namespace`: use one store per Keyv instance.
 *
 * # Examples
 * ```ts
 * import Keyv from 'keyv';
 * import { KeyvRedisLua } from 'redis-lua-cache/keyv';
 *
 * const keyv = new Keyv({ store: new KeyvRedisLua('redis://localhost:6379'), namespace: 'users' });
 * await keyv.set('42', { name: 'Ada' }, 60_000);
 * await keyv.get('42'); // { name: 'Ada' }
 * await keyv.disconnect();
 * ```
 */
export class KeyvRedisLua extends EventEmitter {
  /** The namespace of every key the store reads and writes; Keyv sets it. */
  namespace: string | undefined;
  /** What Keyv reads of the store's settings. */
  readonly opts: KeyvRedisLuaOpts;
  readonly #backend: RedisBackend;
  /** Whether the store built its backend, and so closes it. */
  readonly #owned: boolean;
  readonly #settings: StoreSettings;
  readonly #keys: KeyvKeys;

  /**
   * A store over `urlOrBackend`: a Redis URL (`redis://` or `rediss://`; the store builds a backend with
   * the default builder options and closes it on `disconnect()`), or a backend of the application's own,
   * which the store never closes.
   */
  constructor(urlOrBackend: string | RedisBackend, options?: KeyvRedisLuaOptions) {
    super();
    this.#settings = checkOptions(options);
    let url = 'backend';
    if (urlOrBackend instanceof RedisBackend) {
      this.#backend = urlOrBackend;
      this.#owned = false;
    } else {
      const mode = ConnectionMode.single(urlOrBackend);
      url = mode.describe();
      this.#backend = RedisBackend.builder().driver(options?.driver ?? 'ioredis').connection(mode).build();
      this.#owned = true;
    }
    this.#keys = new KeyvKeys(this.#settings.prefix, this.#backend.keyFormat());
    this.namespace = this.#settings.namespace;
    this.opts = { dialect: 'redis', url, prefix: this.#settings.prefix, scanCount: this.#settings.scanCount };
  }

  /** The value stored at `key`, or `undefined` (missing or expired). */
  get(key: string): Promise<string | undefined> {
    return this.#attempt(undefined, async () => valueOf(await this.#backend.read(this.#cacheKey(key, 'read'))));
  }

  /** The values stored at `keys`, in order, `undefined` for each missing one: one `read_many` call per 100 keys (per slot on a cluster). */
  getMany(keys: string[]): Promise<Array<string | undefined>> {
    return this.#attempt(missing(keys, undefined), async () => (await this.#backend.readMany(this.#cacheKeys(keys, 'readMany'))).map(valueOf));
  }

  /**
   * Stores `value` at `key`, replacing the entry whole (one `write` call). `ttl` in milliseconds;
   * `undefined` or 0: no expiry. Resolves to `false` when it failed.
   */
  set(key: string, value: string, ttl?: number): Promise<boolean> {
    return this.#attempt(false, async () => {
      await this.#backend.write(this.#cacheKey(key, 'write'), entryOf(value, ttl, 'write', key));
      return true;
    });
  }

  /** Stores every entry, as {@link set} does one: one `write_many` call per 100 keys (per slot on a cluster). */
  setMany(entries: Array<{ key: string; value: string; ttl?: number }>): Promise<boolean[]> {
    return this.#attempt(missing(entries, false), async () => {
      if (!Array.isArray(entries)) throw new InvalidValueError('entries must be an array of { key, value, ttl? }', { operation: 'writeMany' });
      const pairs = Array.from(entries, (entry: unknown, index): [CacheKey, CacheValue<Buffer>] => {
        if (typeof entry !== 'object' || entry === null) throw new InvalidValueError(`entry ${index + 1} must be { key, value, ttl? }`, { operation: 'writeMany' });
        const { key, value, ttl } = entry as { key: unknown; value: unknown; ttl: unknown };
        return [this.#cacheKey(key, 'writeMany'), entryOf(value, ttl, 'writeMany', String(key))];
      });
      await this.#backend.writeMany(pairs);
      return entries.map(() => true);
    });
  }

  /** Removes `key`: `true` when there was an entry. */
  delete(key: string): Promise<boolean> {
    return this.#attempt(false, async () => (await this.#backend.remove(this.#cacheKey(key, 'remove'))).kind === 'deleted');
  }

  /** Removes every key (`remove_many`): `true` when there was an entry at any of them. */
  deleteMany(keys: string[]): Promise<boolean> {
    return this.#attempt(false, async () => (await this.#backend.removeMany(this.#cacheKeys(keys, 'removeMany'))).kind === 'deleted');
  }

  /** Whether an entry is stored at `key` (a `read`: the value travels too). */
  has(key: string): Promise<boolean> {
    return this.#attempt(false, async () => (await this.#backend.read(this.#cacheKey(key, 'read'))) !== null);
  }

  /** Whether an entry is stored at each of `keys` (`read_many`). */
  hasMany(keys: string[]): Promise<boolean[]> {
    return this.#attempt(missing(keys, false), async () => (await this.#backend.readMany(this.#cacheKeys(keys, 'readMany'))).map((entry) => entry !== null));
  }

  /**
   * Removes every entry of the store's namespace, and only those: SCAN on every primary with the
   * namespace's pattern, each page removed with `remove_many`.
   *
   * # Caveats
   * Not atomic: an entry written while it runs may stay. On a cluster, a slot migrating meanwhile can hide keys from SCAN.
   */
  clear(): Promise<void> {
    const scan = this.#keys.scanOf(this.namespace);
    return this.#attempt(undefined, async () => {
      for await (const page of this.#backend.scanKeys(scan.pattern, this.#settings.scanCount)) {
        const keys = this.#found(scan, page);
        if (keys.length > 0) await this.#backend.removeMany(keys.map((key) => this.#keys.cacheKey(this.namespace, key)));
      }
    });
  }

  /**
   * The `[key, value]` pairs of `namespace` (Keyv passes the store's), SCAN page by SCAN page over every
   * primary, each page read with `read_many`; expired and removed entries are skipped.
   *
   * # Caveats
   * SCAN's guarantees: an entry there throughout is yielded at least once; one written meanwhile may not be.
   */
  async *iterator(namespace?: string): AsyncGenerator<[string, string], void> {
    const scan = this.#keys.scanOf(namespace);
    try {
      for await (const page of this.#backend.scanKeys(scan.pattern, this.#settings.scanCount)) {
        const keys = this.#found(scan, page);
        const entries = keys.length === 0 ? [] : await this.#backend.readMany(keys.map((key) => this.#keys.cacheKey(namespace, key)));
        for (let index = 0; index < keys.length; index++) {
          const value = valueOf(entries[index] ?? null);
          if (value !== undefined) yield [keys[index]!, value];
        }
      }
    } catch (error) {
      this.#report(error);
    }
  }

  /** Closes the backend the store created from a URL; a backend given to the store is left open (and the store usable). */
  async disconnect(): Promise<void> {
    if (this.#owned) await this.#backend.close();
  }

  /** The Keyv keys a SCAN page holds (the pattern matched them and they decode). */
  #found(scan: NamespaceScan, page: Buffer[]): string[] {
    const keys: string[] = [];
    for (const redisKey of page) {
      const key = scan.keyOf(redisKey);
      if (key !== undefined) keys.push(key);
    }
    return keys;
  }

  #cacheKey(key: unknown, operation: Operation): CacheKey {
    if (typeof key !== 'string') throw new InvalidKeyError(`a Keyv key must be a string, got ${typeof key}`, { operation });
    return this.#keys.cacheKey(this.namespace, key);
  }

  #cacheKeys(keys: unknown, operation: Operation): CacheKey[] {
    if (!Array.isArray(keys)) throw new InvalidKeyError('keys must be an array of strings', { operation });
    return Array.from(keys, (key: unknown) => this.#cacheKey(key, operation));
  }

  /** Runs `call`; a failure is reported (see {@link #report}) and resolves to `fallback`. */
  #attempt<T>(fallback: T, call: () => Promise<T>): Promise<T> {
    // Not async itself: a call that succeeds costs no promise more than its own.
    return call().catch((error: unknown) => {
      this.#report(error);
      return fallback;
    });
  }

  /** Emits `error` (which throws it when nobody listens), and throws it with `throwOnErrors`. */
  #report(error: unknown): void {
    this.emit('error', error);
    if (this.#settings.throwOnErrors) throw error;
  }
}

/** What a many-key call resolves to when it failed: `value` for each of `items` (none when it is not an array). */
function missing<T>(items: unknown, value: T): T[] {
  return Array.isArray(items) ? items.map(() => value) : [];
}

import * as scripts from '../../generated/index.js';
import type { Compressor } from '../codecs/compressor.js';
import type { CacheKeyFormat } from '../codecs/key-format.js';
import type { Format } from '../codecs/value-format.js';
import type { CacheKey } from '../core/cache-key.js';
import { CacheValue } from '../core/cache-value.js';
import { CompressionError, FormatError, InvalidKeyError, InvalidValueError, type BackendError, type Operation } from '../core/errors.js';
import type { RedisKey } from '../core/scripting.js';
import type { Driver, DriverName } from '../driver/driver.js';
import { RedisBackendBuilder } from './builder.js';
import type { BackendConfig } from './config.js';
import { createDriver } from './drivers.js';

/** Outcome of a remove: how many entries were deleted, or that there was none. */
export type DeleteStatus = { readonly kind: 'deleted'; readonly count: number } | { readonly kind: 'missing' };

const MISSING: DeleteStatus = Object.freeze({ kind: 'missing' });

/** Epoch milliseconds of a date, refusing `Invalid Date` with a message that says which one. */
function epochMillis(date: Date, what: string, operation: Operation, key: CacheKey): number {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new InvalidValueError(`${what} is not a valid Date`, { operation, key: key.toString() });
  }
  return ms;
}

/**
 * Redis cache backend: entries are hashes written, read and removed by atomic Lua scripts.
 *
 * Two layers, as in hitbox: the raw layer (`read`, `write`, `remove`) stores bytes as given; the typed
 * layer (`get`, `set`, `delete`) serializes with the value format and compresses on the way in, and
 * decompresses then deserializes on the way out.
 *
 * Build it with {@link RedisBackend.builder}. It connects lazily, on the first operation.
 *
 * # Examples
 * ```ts
 * const backend = RedisBackend.builder().connection(ConnectionMode.single('redis://localhost:6379')).build();
 * const key = new CacheKey('users', 1, [{ key: 'id', value: '42' }]);
 * await backend.set(key, new CacheValue({ name: 'Ada' }, new Date(Date.now() + 60_000)));
 * const hit = await backend.get<{ name: string }>(key); // CacheValue { data: { name: 'Ada' }, ... }
 * await backend.close();
 * ```
 */
export class RedisBackend implements AsyncDisposable {
  readonly #label: string;
  readonly #keyFormat: CacheKeyFormat;
  readonly #format: Format;
  readonly #compressor: Compressor;
  readonly #maxValueBytes: number;
  readonly #driver: Driver;

  /** @internal Use {@link RedisBackend.builder}. */
  constructor(config: BackendConfig) {
    this.#label = config.label;
    this.#keyFormat = config.keyFormat;
    this.#format = config.valueFormat;
    this.#compressor = config.compressor;
    this.#maxValueBytes = config.maxValueBytes;
    this.#driver = createDriver(config.driver, config.target);
  }

  /**
   * Starts a builder with every option at its default.
   *
   * # Examples
   * ```ts
   * const backend = RedisBackend.builder()
   *   .connection(ConnectionMode.single('redis://localhost:6379'))
   *   .label('sessions')
   *   .valueFormat(new JsonFormat())
   *   .compressor(new ZstdCompressor())
   *   .responseTimeout(250)
   *   .build();
   * ```
   */
  static builder(): RedisBackendBuilder<RedisBackend> {
    return new RedisBackendBuilder((config) => new RedisBackend(config));
  }

  /** The label that names this backend in metrics and logs. Default `'redis'`. */
  label(): string {
    return this.#label;
  }

  /** The Redis client library in use: `'ioredis'` (the default) or `'node-redis'`. */
  driver(): DriverName {
    return this.#driver.name;
  }

  /** The key format in use. */
  keyFormat(): CacheKeyFormat {
    return this.#keyFormat;
  }

  /** The value format the typed layer uses. */
  valueFormat(): Format {
    return this.#format;
  }

  /** The compressor the typed layer uses. */
  compressor(): Compressor {
    return this.#compressor;
  }

  /**
   * Reads the entry at `key` as stored bytes, or `null` when there is none (or it expired).
   * `expire` is `now + PTTL`; `stale` is exact. One round trip, one atomic script.
   *
   * Rejects with `ForeignDataError` when the key holds something that is not a cache entry.
   */
  async read(key: CacheKey): Promise<CacheValue<Buffer> | null> {
    const reply = await this.#fetch(key, 'read');
    return reply === null ? null : new CacheValue(reply[0], expireFromPttl(reply[2]), staleFromReply(reply[1]));
  }

  /**
   * Replaces the entry at `key` atomically: afterwards it holds exactly `value.data`, `value.stale`
   * (if any) and a TTL of `value.expire - now` (none when `expire` is `null`). An `expire` that is not
   * in the future stores nothing and removes any existing entry.
   *
   * Rejects with `InvalidValueError` (nothing sent) for an invalid date or data that is not a Buffer or
   * is larger than `maxValueBytes`, and with `ForeignDataError` (nothing changed) when the key holds something
   * that is not a cache entry.
   */
  async write(key: CacheKey, value: CacheValue<Buffer>): Promise<void> {
    await this.#store(key, value.data, value.expire, value.stale, 'write');
  }

  /**
   * Removes the entry at `key`: `{ kind: 'deleted', count: 1 }`, or `{ kind: 'missing' }` when there
   * was none. Rejects with `ForeignDataError` (nothing deleted) when the key holds something else.
   */
  async remove(key: CacheKey): Promise<DeleteStatus> {
    return this.#remove(key, 'remove');
  }

  /**
   * Reads and decodes the entry at `key` (decompress, then deserialize), or `null` when there is none.
   * Rejects with `CompressionError` or `FormatError`, naming the key, when the stored bytes do not
   * decode.
   */
  async get<T>(key: CacheKey): Promise<CacheValue<T> | null> {
    const reply = await this.#fetch(key, 'get');
    if (reply === null) return null;
    let bytes: Buffer;
    try {
      bytes = this.#compressor.decompress(reply[0]);
    } catch (error) {
      throw new CompressionError(`${this.#compressor.name} could not decompress the stored bytes`, context('get', key), { cause: error });
    }
    let data: T;
    try {
      data = this.#format.deserialize(bytes) as T;
    } catch (error) {
      throw new FormatError(`the stored bytes are not valid ${this.#format.name}`, context('get', key), { cause: error });
    }
    return new CacheValue(data, expireFromPttl(reply[2]), staleFromReply(reply[1]));
  }

  /** Encodes `value.data` (serialize, then compress) and writes it with the semantics of {@link write}. */
  async set<T>(key: CacheKey, value: CacheValue<T>): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = this.#format.serialize(value.data);
    } catch (error) {
      throw new FormatError(`${this.#format.name} could not serialize the value`, context('set', key), { cause: error });
    }
    try {
      bytes = this.#compressor.compress(bytes);
    } catch (error) {
      throw new CompressionError(`${this.#compressor.name} could not compress the value`, context('set', key), { cause: error });
    }
    await this.#store(key, bytes, value.expire, value.stale, 'set');
  }

  /** Removes the entry at `key`, as {@link remove}. */
  async delete(key: CacheKey): Promise<DeleteStatus> {
    return this.#remove(key, 'delete');
  }

  /**
   * Closes the connection this backend opened. A client given with `.client()` is left open: it belongs
   * to the application. Operations still waiting for a connection, and later ones, reject with
   * `ConnectionError` without being sent. Safe to call twice.
   *
   * # Caveats
   * It waits for Redis to answer `QUIT` (so calls in flight get their replies) at most `connectionTimeout`,
   * then drops the connection: on a silently dead one, that is how long it takes.
   */
  async close(): Promise<void> {
    await this.#driver.close();
  }

  /** Same as {@link close}, for `await using backend = ...`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #fetch(key: CacheKey, operation: Operation): Promise<scripts.ReadReply> {
    const redisKey = this.#encode(key, operation);
    try {
      return await scripts.read(this.#driver, redisKey);
    } catch (error) {
      throw this.#failure(error, operation, key);
    }
  }

  async #store(key: CacheKey, data: Buffer, expire: Date | null, stale: Date | null, operation: Operation): Promise<void> {
    const redisKey = this.#encode(key, operation);
    if (!Buffer.isBuffer(data)) {
      throw new InvalidValueError('data must be a Buffer', context(operation, key));
    }
    // A bulk string over proto-max-bulk-len makes the server drop the connection, failing every call on it.
    if (data.length > this.#maxValueBytes) {
      throw new InvalidValueError(
        `data is ${data.length} bytes, more than maxValueBytes (${this.#maxValueBytes}); nothing was sent`,
        context(operation, key),
      );
    }
    const expireMs = expire === null ? null : epochMillis(expire, 'expire', operation, key);
    const staleMs = stale === null ? null : epochMillis(stale, 'stale', operation, key);
    try {
      // The TTL is measured when the write is sent, not before it waited for a connection.
      const waiting = this.#driver.whenReady();
      if (waiting !== undefined) await waiting;
      await scripts.write(this.#driver, redisKey, data, staleMs, expireMs === null ? null : expireMs - Date.now());
    } catch (error) {
      throw this.#failure(error, operation, key);
    }
  }

  async #remove(key: CacheKey, operation: Operation): Promise<DeleteStatus> {
    const redisKey = this.#encode(key, operation);
    let count: number;
    try {
      count = await scripts.remove(this.#driver, redisKey);
    } catch (error) {
      throw this.#failure(error, operation, key);
    }
    return count > 0 ? { kind: 'deleted', count } : MISSING;
  }

  #failure(error: unknown, operation: Operation, key: CacheKey): BackendError {
    return this.#driver.toBackendError(error, context(operation, key));
  }

  #encode(key: CacheKey, operation: Operation): RedisKey {
    try {
      return this.#keyFormat.encode(key);
    } catch (error) {
      if (error instanceof InvalidKeyError) throw new InvalidKeyError(error.reason, { operation }, { cause: error });
      throw new InvalidKeyError(`key format ${this.#keyFormat.name} could not encode the key`, { operation }, { cause: error });
    }
  }
}

function context(operation: Operation, key: CacheKey): { operation: Operation; key: string } {
  return { operation, key: key.toString() };
}

/** The largest time a `Date` holds: an expire written there must not read back as `Invalid Date`. */
const MAX_DATE_MS = 8.64e15;

function expireFromPttl(pttl: number): Date | null {
  return pttl >= 0 ? new Date(Math.min(Date.now() + pttl, MAX_DATE_MS)) : null;
}

function staleFromReply(stale: number | null): Date | null {
  return stale === null ? null : new Date(stale);
}


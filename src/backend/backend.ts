import * as scripts from '../../generated/index.js';
import type { Compressor } from '../codecs/compressor.js';
import type { CacheKeyFormat } from '../codecs/key-format.js';
import { ValueCodec } from '../codecs/value-codec.js';
import type { Format } from '../codecs/value-format.js';
import { GetOrSet, type PendingWork } from '../cache/get-or-set.js';
import type { FactoryContext, GetOrSetOptions } from '../cache/options.js';
import { checkTags, Tags, type WriteOptions } from '../cache/tags.js';
import type { CacheKey } from '../core/cache-key.js';
import { valueFromReply, type CacheValue } from '../core/cache-value.js';
import { operationChannel, type BackendInfo } from '../core/diagnostics.js';
import { InvalidValueError, type BackendError, type Operation } from '../core/errors.js';
import type { RedisKey, ScriptArgument, ScriptDefinition, ScriptRunner } from '../core/scripting.js';
import type { Driver, DriverName } from '../driver/driver.js';
import { backendInfo, operationMessage } from './backend-info.js';
import { RedisBackendBuilder } from './builder.js';
import type { BackendConfig } from './config.js';
import { createDriver } from './drivers.js';
import { checkWrite, encodeKey, errorContext } from './entries.js';
import { ManyKeys, type ManyWrite } from './many-keys.js';

/**
 * Outcome of a remove: how many entries were deleted, or that there was none.
 *
 * # Examples
 * ```ts
 * const status = await backend.delete(key);
 * if (status.kind === 'deleted') console.log(`removed ${status.count}`);
 * ```
 */
export type DeleteStatus =
  | {
      /** At least one entry was removed. */
      readonly kind: 'deleted';
      /** How many entries were removed: 1 for one key; for many keys, the distinct keys that held one (a key given twice counts once). */
      readonly count: number;
    }
  | {
      /** No key held an entry: nothing was removed. */
      readonly kind: 'missing';
    };

const MISSING: DeleteStatus = Object.freeze({ kind: 'missing' });

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
export class RedisBackend implements ScriptRunner, AsyncDisposable {
  readonly #label: string;
  readonly #keyFormat: CacheKeyFormat;
  readonly #format: Format;
  readonly #compressor: Compressor;
  readonly #maxValueBytes: number;
  readonly #driver: Driver;
  readonly #codec: ValueCodec;
  readonly #getOrSet: GetOrSet;
  readonly #many: ManyKeys;
  readonly #tags: Tags;
  readonly #info: BackendInfo;

  /** @internal Use {@link RedisBackend.builder}. */
  constructor(config: BackendConfig) {
    this.#label = config.label;
    this.#keyFormat = config.keyFormat;
    this.#format = config.valueFormat;
    this.#compressor = config.compressor;
    this.#maxValueBytes = config.maxValueBytes;
    this.#driver = createDriver(config.driver, config.target);
    this.#codec = new ValueCodec(config.valueFormat, config.compressor);
    this.#info = backendInfo(config);
    this.#tags = new Tags({ driver: this.#driver, clustered: config.clustered });
    this.#many = new ManyKeys({ driver: this.#driver, keyFormat: config.keyFormat, maxValueBytes: config.maxValueBytes, clustered: config.clustered });
    this.#getOrSet = new GetOrSet({
      driver: this.#driver,
      codec: this.#codec,
      maxValueBytes: config.maxValueBytes,
      maxBackgroundRefreshes: config.maxBackgroundRefreshes,
      onError: config.onError,
      tags: this.#tags,
      info: this.#info,
    });
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
   * `expire` is `now + PTTL`; `stale` is exact. One round trip, one atomic script; one more for an entry
   * written with tags, to check that none was invalidated since (an invalidated entry reads as `null`).
   *
   * Rejects with `ForeignDataError` when the key holds something that is not a cache entry.
   */
  read(key: CacheKey): Promise<CacheValue<Buffer> | null> {
    return operationChannel.hasSubscribers ? operationChannel.tracePromise(this.#lookup<Buffer>, operationMessage(this.#info, 'read'), this, key, 'read') : this.#lookup<Buffer>(key, 'read');
  }

  /**
   * Replaces the entry at `key` atomically: afterwards it holds exactly `value.data`, `value.stale`
   * (if any) and a TTL of `value.expire - now` (none when `expire` is `null`). An `expire` that is not
   * in the future stores nothing and removes any existing entry.
   *
   * With `options.tags`, the entry is written with its tags' current tokens (one round trip more), so
   * that {@link invalidateTags} with any of them makes it read as missing.
   *
   * Rejects with `InvalidValueError` (nothing sent) for an invalid date or data that is not a Buffer or
   * is larger than `maxValueBytes`, `InvalidOptionError` (nothing sent) for bad tags, and with
   * `ForeignDataError` (nothing changed) when the key holds something that is not a cache entry.
   */
  write(key: CacheKey, value: CacheValue<Buffer>, options?: WriteOptions): Promise<void> {
    return operationChannel.hasSubscribers ? operationChannel.tracePromise(this.#store, operationMessage(this.#info, 'write'), this, key, value, 'write', options) : this.#store(key, value, 'write', options);
  }

  /**
   * Removes the entry at `key`: `{ kind: 'deleted', count: 1 }`, or `{ kind: 'missing' }` when there
   * was none. Rejects with `ForeignDataError` (nothing deleted) when the key holds something else.
   */
  remove(key: CacheKey): Promise<DeleteStatus> {
    return operationChannel.hasSubscribers ? operationChannel.tracePromise(this.#remove, operationMessage(this.#info, 'remove'), this, key, 'remove') : this.#remove(key, 'remove');
  }

  /**
   * Reads and decodes the entry at `key` (decompress, then deserialize), or `null` when there is none.
   * Rejects with `CompressionError` or `FormatError`, naming the key, when the stored bytes do not
   * decode.
   */
  get<T>(key: CacheKey): Promise<CacheValue<T> | null> {
    return operationChannel.hasSubscribers ? operationChannel.tracePromise(this.#lookup<T>, operationMessage(this.#info, 'get'), this, key, 'get') : this.#lookup<T>(key, 'get');
  }

  /** Encodes `value.data` (serialize, then compress) and writes it with the semantics of {@link write}. */
  set<T>(key: CacheKey, value: CacheValue<T>, options?: WriteOptions): Promise<void> {
    return operationChannel.hasSubscribers ? operationChannel.tracePromise(this.#store, operationMessage(this.#info, 'set'), this, key, value, 'set', options) : this.#store(key, value, 'set', options);
  }

  /**
   * Invalidates every entry written with any of `tags`: once this resolves, no read started after it (any
   * process, any node) returns an entry written with one of them before it began; entries written
   * afterwards are unaffected. Each tag gets a new random token; entries keep the tokens they were written
   * with, and a read compares them with the tags' own (no clocks involved). An empty array sends nothing.
   *
   * # Caveats
   * - An invalidated entry stays in Redis until it expires or is written again; it is never returned.
   * - Tags are shared by every backend on the same Redis (key `_tag=<tag>`), whatever its key format.
   * - Rejects with `InvalidOptionError` for a tag that is not a non-empty string, or more than 64 tags.
   *
   * # Examples
   * ```ts
   * await backend.set(key, new CacheValue(user, expire), { tags: ['user:42', 'team:7'] });
   * await backend.invalidateTags(['team:7']); // backend.get(key) is now null
   * ```
   */
  invalidateTags(tags: string[]): Promise<void> {
    return operationChannel.hasSubscribers ? operationChannel.tracePromise(this.#invalidateTags, operationMessage(this.#info, 'invalidateTags', tags), this, tags) : this.#invalidateTags(tags);
  }

  async #invalidateTags(tags: string[]): Promise<void> {
    const checked = checkTags(tags, { operation: 'invalidateTags' });
    if (checked.length > 0) await this.#tags.invalidate(checked, { operation: 'invalidateTags' });
  }

  /** Removes the entry at `key`, as {@link remove}. */
  delete(key: CacheKey): Promise<DeleteStatus> {
    return operationChannel.hasSubscribers ? operationChannel.tracePromise(this.#remove, operationMessage(this.#info, 'delete'), this, key, 'delete') : this.#remove(key, 'delete');
  }

  /**
   * Reads many entries as stored bytes: for each key, in the order given, what {@link read} returns for
   * it (a key given twice is read twice). An empty array makes no round trip.
   *
   * # Caveats
   * - Atomic per script call: on a single node one call per 100 keys; on a cluster one call per hash slot
   *   (and per 100 keys of it), all sent at once. A larger batch is not one snapshot.
   * - Rejects with `InvalidKeyError` naming the position of a bad key before anything is sent, and with
   *   `ForeignDataError` naming the key when one holds something that is not a cache entry.
   *
   * # Examples
   * ```ts
   * const [a, b] = await backend.readMany([keyA, keyB]); // CacheValue<Buffer> | null each
   * ```
   */
  readMany(keys: CacheKey[]): Promise<(CacheValue<Buffer> | null)[]> {
    return operationChannel.hasSubscribers ? operationChannel.tracePromise(this.#readManyValues, operationMessage(this.#info, 'readMany', keys), this, keys) : this.#readManyValues(keys);
  }

  async #readManyValues(keys: CacheKey[]): Promise<(CacheValue<Buffer> | null)[]> {
    const replies = await this.#readMany(keys, 'readMany');
    return replies.map((reply) => (reply === null ? null : valueFromReply(reply[0], reply[1], reply[2])));
  }

  /**
   * Replaces many entries, each exactly as {@link write} replaces one, in the order given (a key given
   * twice ends with its last value). Every key and value is checked before anything is sent. An empty
   * array makes no round trip.
   *
   * # Caveats
   * Atomic per script call, as {@link readMany}: within a call, foreign data at any key refuses the whole
   * call (`ForeignDataError` naming the key) and nothing of it is written; other calls of the same batch
   * (other slots of a cluster, other chunks of 100) may have been written.
   *
   * # Examples
   * ```ts
   * await backend.writeMany([[keyA, new CacheValue(Buffer.from('a'))], [keyB, new CacheValue(Buffer.from('b'), expire)]]);
   * ```
   */
  writeMany(entries: [CacheKey, CacheValue<Buffer>][]): Promise<void> {
    return operationChannel.hasSubscribers ? operationChannel.tracePromise(this.#writeMany, operationMessage(this.#info, 'writeMany', entries), this, entries) : this.#writeMany(entries);
  }

  async #writeMany(entries: [CacheKey, CacheValue<Buffer>][]): Promise<void> {
    await this.#many.write(pairs(entries, 'writeMany', (value) => value.data), 'writeMany');
  }

  /**
   * Removes many entries: `{ kind: 'deleted', count }` with how many there were (a key given twice counts
   * once), or `{ kind: 'missing' }` when none was there. An empty array makes no round trip. Atomic per
   * script call, as {@link writeMany}.
   */
  removeMany(keys: CacheKey[]): Promise<DeleteStatus> {
    return operationChannel.hasSubscribers ? operationChannel.tracePromise(this.#removeMany, operationMessage(this.#info, 'removeMany', keys), this, keys, 'removeMany') : this.#removeMany(keys, 'removeMany');
  }

  /** Reads and decodes many entries, as {@link get} does one, with the semantics of {@link readMany}. */
  getMany<T>(keys: CacheKey[]): Promise<(CacheValue<T> | null)[]> {
    return operationChannel.hasSubscribers ? operationChannel.tracePromise(this.#getMany<T>, operationMessage(this.#info, 'getMany', keys), this, keys) : this.#getMany<T>(keys);
  }

  async #getMany<T>(keys: CacheKey[]): Promise<(CacheValue<T> | null)[]> {
    const replies = await this.#readMany(keys, 'getMany');
    return replies.map((reply, index) => (reply === null ? null : valueFromReply(this.#codec.decode<T>(reply[0], 'getMany', keys[index]!), reply[1], reply[2])));
  }

  /** Encodes and writes many entries, as {@link set} does one, with the semantics of {@link writeMany}. */
  setMany<T>(entries: [CacheKey, CacheValue<T>][]): Promise<void> {
    return operationChannel.hasSubscribers ? operationChannel.tracePromise(this.#setMany<T>, operationMessage(this.#info, 'setMany', entries), this, entries) : this.#setMany(entries);
  }

  async #setMany<T>(entries: [CacheKey, CacheValue<T>][]): Promise<void> {
    await this.#many.write(pairs(entries, 'setMany', (value, key) => this.#codec.encode(value.data, 'setMany', key)), 'setMany');
  }

  /** Removes many entries, as {@link removeMany}. */
  deleteMany(keys: CacheKey[]): Promise<DeleteStatus> {
    return operationChannel.hasSubscribers ? operationChannel.tracePromise(this.#removeMany, operationMessage(this.#info, 'deleteMany', keys), this, keys, 'deleteMany') : this.#removeMany(keys, 'deleteMany');
  }

  /**
   * Returns the value cached at `key`, or computes it with `factory`, stores it and returns it. One atomic
   * script reads the entry and, when it is missing or stale, hands exactly one caller in the whole
   * deployment (every process, every node) the right to recompute it: a lease kept in the entry's own
   * hash (field `l`). Values go through the value format and compressor, as with {@link set}.
   *
   * - Fresh (before `staleAfter`): returned; the factory is not called.
   * - Stale (from `staleAfter` to `ttl`): returned at once; the lease holder refreshes it in the
   *   background. A refresh that fails leaves the stale value served until `ttl` and goes to the error
   *   listener as a `FactoryError`; the next refresh is tried after `lockTimeout`.
   * - Missing: the lease holder runs the factory and stores its value; callers elsewhere wait for it,
   *   polling, and take the lease over once it is `lockTimeout` old (its holder died or is slow).
   *   Callers in this process share one script call and one factory call per key.
   *
   * The value is stored only if the lease still stands when the factory finishes: a `delete` in between
   * voids it (the value is returned but not stored), and a `set` in between wins over it.
   *
   * # Default
   * See {@link GetOrSetOptions}: never stale, `lockTimeout` 10 s, no soft or hard timeout.
   *
   * # Caveats
   * - A factory error with nothing cached rejects the call with that error; nothing is stored or negatively cached.
   * - When Redis is unreachable or failing, the factory's value is returned (not stored) and the failure
   *   goes to the error listener (`RedisBackendBuilder.onError`), never to the caller.
   * - Callers that share a flight get the same decoded object, and the options of the first of them.
   * - Rejects with `InvalidOptionError` or `InvalidKeyError` before anything is sent, `FormatError` when the
   *   factory's value cannot be encoded (nothing stored), `ForeignDataError` when the key holds something
   *   else, and `FactoryTimeoutError` after `hardTimeout`.
   *
   * # Examples
   * ```ts
   * const user = await backend.getOrSet(
   *   new CacheKey('user', 1, [{ key: 'id', value: id }]),
   *   () => db.users.find(id),
   *   { ttl: 3_600_000, staleAfter: 60_000, hardTimeout: 2_000 },
   * );
   * ```
   */
  getOrSet<T>(key: CacheKey, factory: (context: FactoryContext<T>) => Promise<T>, options: GetOrSetOptions): Promise<T> {
    return operationChannel.hasSubscribers ? operationChannel.tracePromise(this.#startGetOrSet<T>, operationMessage(this.#info, 'getOrSet'), this, key, factory, options) : this.#startGetOrSet(key, factory, options);
  }

  #startGetOrSet<T>(key: CacheKey, factory: (context: FactoryContext<T>) => Promise<T>, options: GetOrSetOptions): Promise<T> {
    // Not async: a fresh hit must cost no promise more than it needs; refusals still reject, never throw.
    try {
      return this.#getOrSet.run(this.#encode(key, 'getOrSet'), key, factory, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs a script of the application's own, generated like the backend's (`npx redis-lua-cache generate`),
   * with everything the backend's scripts get: the lazy connection, EVALSHA (EVALSHA_RO for a `no-writes`
   * script), `NOSCRIPT` answered with EVAL, cluster routing by the first key and redirections, timeouts,
   * and typed errors naming the script and its first key. A backend is a `ScriptRunner`, so a generated
   * wrapper takes it as is.
   *
   * # Caveats
   * - On a cluster every key of one call must be in one slot (use a hash tag); Redis refuses the call
   *   otherwise (`ScriptError` with `CROSSSLOT`).
   * - Rejects with `InvalidValueError`, nothing sent, when `script` is not a generated definition or the
   *   keys and arguments do not fit it (fewer entries than its keys, an entry that is not a string, a
   *   finite number or a Buffer).
   *
   * # Examples
   * ```ts
   * import { counterAdd } from './generated/counter_add.js'; // written by `npx redis-lua-cache generate lua generated`
   * const total = await counterAdd(backend, 'hits:today', 1);
   * ```
   */
  run(script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown> {
    return operationChannel.hasSubscribers ? operationChannel.tracePromise(this.#run, operationMessage(this.#info, 'run', undefined, scriptName(script)), this, script, keysAndArguments) : this.#run(script, keysAndArguments);
  }

  async #run(script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown> {
    checkScriptCall(script, keysAndArguments);
    try {
      return await this.#driver.run(script, keysAndArguments);
    } catch (error) {
      const first = script.numberOfKeys > 0 ? keysAndArguments[0] : undefined;
      throw this.#driver.toBackendError(error, {
        operation: 'run',
        script: script.name,
        ...(first === undefined ? {} : { key: typeof first === 'string' ? first : first.toString() }),
      });
    }
  }

  /** @internal What `getOrSet` still holds: for tests that check nothing outlives the calls. */
  pendingWork(): PendingWork {
    return this.#getOrSet.pendingWork();
  }

  /**
   * @internal The keys matching the glob `pattern` on every primary, a page at a time (SCAN with MATCH and
   * COUNT `count`), for the adapters that enumerate entries (the Keyv store's `clear` and iterator). A
   * failure is a typed error of operation `scan`.
   */
  async *scanKeys(pattern: string, count: number): AsyncGenerator<Buffer[]> {
    try {
      yield* this.#driver.scanPrimaries(pattern, count);
    } catch (error) {
      throw this.#driver.toBackendError(error, { operation: 'scan' });
    }
  }

  /**
   * Closes the connection this backend opened. A client given with `.client()` is left open: it belongs
   * to the application. Operations still waiting for a connection, and later ones, reject with
   * `ConnectionError` without being sent; the signal of every `getOrSet` factory still running is
   * aborted. Safe to call twice.
   *
   * # Caveats
   * It waits for Redis to answer `QUIT` (so calls in flight get their replies) at most `connectionTimeout`,
   * then drops the connection: on a silently dead one, that is how long it takes.
   */
  async close(): Promise<void> {
    await this.#getOrSet.close();
    await this.#driver.close();
  }

  /** Same as {@link close}, for `await using backend = ...`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #removeMany(keys: CacheKey[], operation: 'removeMany' | 'deleteMany'): Promise<DeleteStatus> {
    return deleteStatus(await this.#many.remove(keys, operation));
  }

  /** The read replies for `keys`, `null` too for entries whose tags were invalidated (one check for them all). */
  async #readMany(keys: CacheKey[], operation: Operation): Promise<scripts.ReadReply[]> {
    const replies = await this.#many.read(keys, operation);
    const fields = replies.map((reply) => reply?.[3] ?? null);
    if (fields.every((field) => field === null)) return replies;
    const invalidated = await this.#tags.invalidated(fields, operation, (index) => keys[index]!.toString());
    return replies.map((reply, index) => (invalidated[index] === true ? null : reply));
  }

  /**
   * The entry at `key`, `null` too for one whose tags were invalidated: as stored (`read`) or decoded
   * (`get`). One async step for both layers: each step more is a promise and a microtask per call.
   */
  async #lookup<T>(key: CacheKey, operation: 'read' | 'get'): Promise<CacheValue<T> | null> {
    const redisKey = this.#encode(key, operation);
    let reply: scripts.ReadReply;
    try {
      reply = await scripts.read(this.#driver, redisKey);
    } catch (error) {
      throw this.#failure(error, operation, key);
    }
    if (reply === null) return null;
    if (reply[3] !== null) {
      const [invalidated] = await this.#tags.invalidated([reply[3]], operation, () => key.toString());
      if (invalidated === true) return null;
    }
    // read() asks for T = Buffer: its value is the stored bytes.
    const data = operation === 'get' ? this.#codec.decode<T>(reply[0], operation, key) : (reply[0] as T);
    return valueFromReply(data, reply[1], reply[2]);
  }

  /** Writes `value` at `key`: as given (`write`) or encoded first (`set`). */
  async #store<T>(key: CacheKey, value: CacheValue<T>, operation: 'write' | 'set', options: WriteOptions | undefined): Promise<void> {
    const data = operation === 'set' ? this.#codec.encode(value.data, operation, key) : value.data;
    const redisKey = this.#encode(key, operation);
    const checked = checkWrite(key, data, value.expire, value.stale, this.#maxValueBytes, operation);
    // The tags' tokens before the write: an invalidation from now on voids it, as it should.
    const tags = options?.tags === undefined ? null : checkTags(options.tags, errorContext(operation, key));
    const tagsField = tags === null || tags.length === 0 ? null : await this.#tags.field(tags, errorContext(operation, key));
    try {
      // The TTL is measured when the write is sent, not before it waited for a connection.
      const waiting = this.#driver.whenReady();
      if (waiting !== undefined) await waiting;
      await scripts.write(this.#driver, redisKey, checked.data, checked.staleMs, checked.expireMs === null ? null : checked.expireMs - Date.now(), tagsField);
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
    return deleteStatus(count);
  }

  #failure(error: unknown, operation: Operation, key: CacheKey): BackendError {
    return this.#driver.toBackendError(error, errorContext(operation, key));
  }

  #encode(key: CacheKey, operation: Operation): RedisKey {
    return encodeKey(this.#keyFormat, key, operation);
  }
}


/** The name of `script` when it has one, for its trace; checkScriptCall refuses it otherwise. */
function scriptName(script: ScriptDefinition): string | undefined {
  return typeof script === 'object' && script !== null && typeof script.name === 'string' ? script.name : undefined;
}

function checkScriptCall(script: ScriptDefinition, keysAndArguments: ScriptArgument[]): void {
  const named = scriptName(script);
  const refuse = (reason: string): never => {
    throw new InvalidValueError(reason, { operation: 'run', ...(named === undefined ? {} : { script: named }) });
  };
  if (named === undefined || typeof script.source !== 'string' || typeof script.sha1 !== 'string' || !Number.isInteger(script.numberOfKeys)) {
    refuse('script must be a generated ScriptDefinition (name, source, sha1, numberOfKeys, readOnly)');
  }
  if (!Array.isArray(keysAndArguments) || keysAndArguments.length < script.numberOfKeys) {
    refuse(`the script takes ${script.numberOfKeys} key(s): keysAndArguments must be an array of at least that many entries`);
  }
  for (let index = 0; index < keysAndArguments.length; index++) {
    const entry = keysAndArguments[index];
    if (typeof entry === 'string' || Buffer.isBuffer(entry) || (typeof entry === 'number' && Number.isFinite(entry))) continue;
    refuse(`${index < script.numberOfKeys ? 'key' : 'argument'} ${index} must be a string, a finite number or a Buffer, got ${typeof entry === 'number' ? String(entry) : typeof entry}`);
  }
}

function deleteStatus(count: number): DeleteStatus {
  return count > 0 ? { kind: 'deleted', count } : MISSING;
}

/** The `[key, value]` pairs of a many-key write, checked for shape, with their data as `bytes` makes it. */
function pairs<T>(entries: [CacheKey, CacheValue<T>][], operation: Operation, bytes: (value: CacheValue<T>, key: CacheKey) => Buffer): ManyWrite[] {
  if (!Array.isArray(entries)) throw new InvalidValueError('entries must be an array of [key, value] pairs', { operation });
  // Array.from, not map: map skips the holes of a sparse array, which would go through unchecked.
  return Array.from(entries, (entry, index) => {
    const [key, value] = Array.isArray(entry) ? entry : [];
    if (key === undefined || typeof value !== 'object' || value === null) {
      throw new InvalidValueError(`entry ${index + 1} must be a [CacheKey, CacheValue] pair`, { operation });
    }
    return { key, data: bytes(value, key), expire: value.expire, stale: value.stale };
  });
}

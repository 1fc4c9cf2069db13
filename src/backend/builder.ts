import type { ConnectionOptions as TlsOptions } from 'node:tls';

import type { ErrorListener } from '../cache/get-or-set.js';
import { PassthroughCompressor, type Compressor } from '../codecs/compressor.js';
import { CacheKeyFormat } from '../codecs/key-format.js';
import { MsgpackFormat, type Format } from '../codecs/value-format.js';
import { ConfigurationError, MissingConnectionModeError } from '../core/errors.js';
import type { ConnectionMode } from '../driver/connection-mode.js';
import type { DriverName } from '../driver/driver.js';
import type { ClientSettings } from '../driver/settings.js';
// Its type only, for the default of `Backend`: at run time the builder gets the backend's constructor.
import type { RedisBackend } from './backend.js';
import type { BackendConfig, ConnectionTarget } from './config.js';
import { checkDriver, checkOptions, driverOfClient, isClusterTarget } from './drivers.js';

/** Redis' default `proto-max-bulk-len`: the largest argument a server accepts unless configured otherwise. */
export const MAX_VALUE_BYTES = 512 * 1024 * 1024;

const DEFAULTS = Object.freeze({
  label: 'redis',
  connectionTimeout: 10_000,
  responseTimeout: null,
  retries: 3,
  maxBackgroundRefreshes: 100,
});

// The default error listener: getOrSet's failures are then seen only by the listener one sets.
function ignore(): void {}

function checkPositive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigurationError(`${name} must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
}

/**
 * Configures and builds a backend (get one from `RedisBackend.builder()`). Every setter returns the
 * builder; options are checked as they are set, and together by {@link build}.
 *
 * # Examples
 * ```ts
 * const backend = RedisBackend.builder()
 *   .connection(ConnectionMode.single('redis://localhost:6379'))
 *   .username('cache')
 *   .password(process.env.REDIS_PASSWORD!)
 *   .build();
 * ```
 */
export class RedisBackendBuilder<Backend = RedisBackend> {
  readonly #construct: (config: BackendConfig) => Backend;
  #label: string = DEFAULTS.label;
  #keyFormat = CacheKeyFormat.UrlEncoded;
  #valueFormat: Format = new MsgpackFormat();
  #compressor: Compressor = new PassthroughCompressor();
  #maxValueBytes = MAX_VALUE_BYTES;
  #maxBackgroundRefreshes: number = DEFAULTS.maxBackgroundRefreshes;
  #onError: ErrorListener = ignore;
  #driver: DriverName | null = null;
  #mode: ConnectionMode | null = null;
  #client: object | null = null;
  #username: string | undefined;
  #password: string | undefined;
  #connectionTimeout: number = DEFAULTS.connectionTimeout;
  #responseTimeout: number | null = DEFAULTS.responseTimeout;
  #retries: number = DEFAULTS.retries;
  #autoPipelining = true;
  #tls: TlsOptions | undefined;

  /** @internal Use `RedisBackend.builder()`. */
  constructor(construct: (config: BackendConfig) => Backend) {
    this.#construct = construct;
  }

  /**
   * Which Redis client library the backend drives: `'ioredis'` or `'node-redis'` (node-redis 5, the
   * optional peer dependency `@redis/client`). Every option means the same on both.
   *
   * # Default
   * `'ioredis'`, or the library of the client given with {@link client}.
   *
   * # Caveats
   * Throws `ConfigurationError` for an unknown name, or for `'node-redis'` when `@redis/client` is not
   * installed.
   *
   * # Examples
   * ```ts
   * RedisBackend.builder().driver('node-redis').connection(ConnectionMode.single('redis://localhost:6379')).build();
   * ```
   */
  driver(name: DriverName): this {
    this.#driver = checkDriver(name);
    return this;
  }

  /** Where to connect: `ConnectionMode.single(url)` or `ConnectionMode.cluster(urls)`. Required unless `.client()` is used. */
  connection(mode: ConnectionMode): this {
    this.#mode = mode;
    return this;
  }

  /**
   * Uses a client the application already has, instead of opening a connection: an ioredis `Redis` or
   * `Cluster`, or a node-redis client or cluster (`createClient` / `createCluster`), which selects the
   * matching driver. `close()` leaves it open, and its own options (timeouts, retries, pipelining) apply:
   * the connection options of this builder are ignored.
   *
   * # Caveats
   * Throws `ConfigurationError` for anything else.
   */
  client(existing: object): this {
    driverOfClient(existing);
    this.#client = existing;
    return this;
  }

  /** ACL user name (Redis 6+). Overrides a user name in the URL. Default: none, or the URL's. */
  username(username: string): this {
    this.#username = username;
    return this;
  }

  /** Password (AUTH). Overrides a password in the URL. Never appears in messages. Default: none, or the URL's. */
  password(password: string): this {
    this.#password = password;
    return this;
  }

  /**
   * Names this backend in its telemetry: the `backend.label` of every message it publishes on
   * `node:diagnostics_channel` (see `OPERATION_CHANNEL`), and so the `redis_lua_cache.label` attribute of
   * its spans and metrics once `redis-lua-cache/otel` is instrumented.
   *
   * # Default
   * `'redis'`.
   *
   * # Caveats
   * It becomes a metric attribute: keep the number of distinct labels small (one per role, not per request).
   *
   * # Examples
   * ```ts
   * RedisBackend.builder().connection(ConnectionMode.single('redis://localhost:6379')).label('sessions').build();
   * ```
   */
  label(label: string): this {
    this.#label = label;
    return this;
  }

  /** How cache keys become Redis keys. Default {@link CacheKeyFormat.UrlEncoded} (hitbox-compatible). */
  keyFormat(format: CacheKeyFormat): this {
    this.#keyFormat = format;
    return this;
  }

  /** How the typed layer turns values into bytes. Default `new MsgpackFormat()`. */
  valueFormat(format: Format): this {
    this.#valueFormat = format;
    return this;
  }

  /**
   * How the typed layer compresses bytes. Default `new PassthroughCompressor()` (none).
   *
   * # Caveats
   * Values pass through the Lua scripts, and Redis' Lua hashes every byte a script sees (about 1.4 ns
   * of server time per byte, BENCHMARKS.md): for values of tens of KiB and more, a compressor such as
   * `ZstdCompressor` also saves server time.
   */
  compressor(compressor: Compressor): this {
    this.#compressor = compressor;
    return this;
  }

  /**
   * Longest time to open a connection (TCP, TLS, AUTH and ready check), in milliseconds; the operation
   * that opened it then rejects with `ConnectionError` and the next one tries again. Default 10000.
   */
  connectionTimeout(ms: number): this {
    this.#connectionTimeout = checkPositive('connectionTimeout', ms);
    return this;
  }

  /**
   * Longest wait for a reply, in milliseconds, after which the operation rejects with `TimeoutError`.
   *
   * # Default
   * None: a reply is awaited as long as the connection stays up (a lost connection still fails fast).
   *
   * It also guards against connections that die silently (a partition, a NAT or firewall that forgot
   * them, which TCP keeps for many minutes): after a timeout, a connection of the backend that still has
   * calls outstanding and answers none of them for one more timeout is closed and replaced, on a single
   * node or on any node of a cluster.
   *
   * # Caveats
   * Each operation then arms a timer, which costs some throughput. A write that timed out may still be
   * applied by the server. A client given with `.client()` is never closed by the backend, silent or not.
   */
  responseTimeout(ms: number): this {
    this.#responseTimeout = checkPositive('responseTimeout', ms);
    return this;
  }

  /**
   * How many failed reconnection attempts an operation made while the connection is down waits through
   * before it rejects with `ConnectionError` (nothing was sent); it also never waits longer than the
   * response timeout (or, without one, the connection timeout). `0`: it fails with the first failed
   * attempt. Default 3 (with the default backoff, a server that refuses connections fails such calls
   * within some 30 ms).
   */
  retries(count: number): this {
    if (!Number.isInteger(count) || count < 0) {
      throw new ConfigurationError(`retries must be a non-negative integer, got ${String(count)}`);
    }
    this.#retries = count;
    return this;
  }

  /**
   * Turns batching on or off. Two kinds, both for the calls issued in the same event-loop tick:
   * - On a single node, the first call of a tick leaves at once, and among the calls after it, every 32
   *   neighbouring single-key calls of one kind are merged into one many-key script call, sent as soon as
   *   the 32nd is made: reads (`read`, `get`, and the first read of `getOrSet`) into one `read_many`,
   *   untagged writes (`write`, `set`) into one `write_many_uniform` for each stretch of 8 or more with the
   *   same stale time and TTL and one `write_many` for the others; at the end of the tick the run it ends with
   *   is merged too from 16 calls on, and the other calls left go one by one. Every call of the tick still
   *   runs in the order it was made, and each caller gets its own reply or error. Every script call costs
   *   the server EVALSHA's own overhead, which a merged call pays once.
   * - The calls share a few socket writes: the ioredis runner corks the socket (the first call of a tick
   *   leaves at once, the others in writes of 8 keys' worth, so a merged call at once, the rest when the
   *   tick ends), in place of ioredis' own
   *   auto-pipelining, which costs more client CPU per call; node-redis always writes a tick's calls together.
   *
   * # Default
   * On. Measured in `bench/` (BENCHMARKS.md).
   *
   * # Caveats
   * - A merged call is one script call: a timeout or a lost connection fails each of its callers.
   * - Calls are not merged on a cluster, where a script call's keys must share a slot.
   */
  autoPipelining(enabled: boolean): this {
    this.#autoPipelining = enabled;
    return this;
  }

  /**
   * Turns TLS on with these Node TLS options (`ca`, `cert`, `key`, `servername`, `rejectUnauthorized`,
   * ...), for a single node and for every node of a cluster, whatever the URL scheme.
   *
   * # Default
   * TLS only for `rediss://` URLs, verified against Node's trusted CAs (so `NODE_EXTRA_CA_CERTS` applies).
   *
   * # Caveats
   * Cluster nodes are reached by the addresses they announce: their certificates must name those
   * (an IP address needs an IP subject alternative name).
   *
   * # Examples
   * ```ts
   * RedisBackend.builder()
   *   .connection(ConnectionMode.single('rediss://cache.internal:6380'))
   *   .tls({ ca: readFileSync('ca.pem'), cert: readFileSync('client.pem'), key: readFileSync('client.key') });
   * ```
   */
  tls(options: TlsOptions): this {
    this.#tls = options;
    return this;
  }

  /**
   * Largest data, in bytes, a write may send. Larger data is refused with `InvalidValueError` before
   * anything is sent: above the server's `proto-max-bulk-len` Redis would drop the whole connection.
   *
   * # Default
   * 512 MiB, Redis' default `proto-max-bulk-len`. Set it to your server's value if you lowered that.
   */
  maxValueBytes(bytes: number): this {
    if (!Number.isInteger(bytes) || bytes <= 0) {
      throw new ConfigurationError(`maxValueBytes must be a positive integer, got ${String(bytes)}`);
    }
    this.#maxValueBytes = bytes;
    return this;
  }

  /**
   * Receives the failures that `getOrSet` rides out instead of throwing them: Redis unreachable or
   * failing (the factory's value is returned without being stored), a store or lease release that failed,
   * and a background refresh whose factory failed (`FactoryError`, the stale value goes on being served).
   * Called synchronously; an exception it throws is ignored.
   *
   * # Default
   * None: those failures are not reported anywhere. Set one to log or count them.
   *
   * # Examples
   * ```ts
   * RedisBackend.builder()
   *   .connection(ConnectionMode.single('redis://localhost:6379'))
   *   .onError((error) => logger.warn({ code: error.code, key: error.key }, error.message));
   * ```
   */
  onError(listener: ErrorListener): this {
    if (typeof listener !== 'function') {
      throw new ConfigurationError(`onError needs a function, got ${typeof listener}`);
    }
    this.#onError = listener;
    return this;
  }

  /**
   * How many stale entries this backend refreshes in the background at once. A stale entry read while
   * that many refreshes run is returned without one (a later read refreshes it), so a burst of stale
   * reads over many keys cannot start unbounded work.
   *
   * # Default
   * 100.
   */
  maxBackgroundRefreshes(count: number): this {
    if (!Number.isInteger(count) || count <= 0) {
      throw new ConfigurationError(`maxBackgroundRefreshes must be a positive integer, got ${String(count)}`);
    }
    this.#maxBackgroundRefreshes = count;
    return this;
  }

  /**
   * Builds the backend. Does not connect: the first operation does.
   *
   * # Caveats
   * Throws `MissingConnectionModeError` when neither `.connection()` nor `.client()` was called, and
   * `ConfigurationError` when the driver chosen with `.driver()` is not the given client's, or refuses
   * an option.
   */
  build(): Backend {
    return this.#construct(this.#config());
  }

  #config(): BackendConfig {
    const target = this.#target();
    const driver = target.kind === 'client' ? driverOfClient(target.client) : (this.#driver ?? 'ioredis');
    if (this.#driver !== null && this.#driver !== driver) {
      throw new ConfigurationError(`driver('${this.#driver}') was chosen, but the client given is a ${driver} client`);
    }
    checkOptions(driver, target);
    return {
      label: this.#label,
      keyFormat: this.#keyFormat,
      valueFormat: this.#valueFormat,
      compressor: this.#compressor,
      maxValueBytes: this.#maxValueBytes,
      maxBackgroundRefreshes: this.#maxBackgroundRefreshes,
      onError: this.#onError,
      driver,
      clustered: isClusterTarget(target),
      target,
    };
  }

  #target(): ConnectionTarget {
    if (this.#client !== null) return { kind: 'client', client: this.#client };
    if (this.#mode === null) throw new MissingConnectionModeError();
    const settings: ClientSettings = {
      username: this.#username,
      password: this.#password,
      connectionTimeout: this.#connectionTimeout,
      responseTimeout: this.#responseTimeout,
      retries: this.#retries,
      autoPipelining: this.#autoPipelining,
      tls: this.#tls,
    };
    return { kind: 'mode', mode: this.#mode, settings };
  }
}

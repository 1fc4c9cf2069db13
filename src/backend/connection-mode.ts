import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { inspect } from 'node:util';

import { Cluster, Redis, type RedisOptions } from 'ioredis';

import { ConfigurationError } from '../core/errors.js';
import type { IoredisClient } from '../ioredis/runner.js';

/** Longest pause between two reconnection attempts, whatever the exponent base. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/** @internal One Redis server, parsed from a `redis://` or `rediss://` URL. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly tls: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** The URL with the password replaced by `***`: the only form that may reach a message. */
  readonly redacted: string;
}

/** What the backend's builder options say about connections, resolved to their defaults. */
export interface ClientSettings {
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly connectionTimeout: number;
  readonly responseTimeout: number | null;
  readonly retries: number;
  readonly autoPipelining: boolean;
  /** Node TLS options from `.tls()`; when set, TLS is on whatever the URL scheme. */
  readonly tls: TlsOptions | undefined;
}

function parseEndpoint(url: string, what: string): Endpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The text is not echoed: a malformed URL may still hold a password.
    throw new ConfigurationError(`${what} is not a valid URL (expected redis://[user[:password]@]host[:port][/db])`);
  }
  const tls = parsed.protocol === 'rediss:';
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const path = parsed.pathname.replace(/^\//, '');
  // Not echoed: a password holding an unencoded "/", "?" or "#" ends the authority early, and the rest of
  // it, host included, lands in the path, the query or the fragment.
  if (!/^\d*$/.test(path) || parsed.search !== '' || parsed.hash !== '') {
    throw new ConfigurationError(
      `${what} has a path, query or fragment that is not a database number (expected redis://[user[:password]@]host[:port][/db]; write "/", "?" and "#" in a password as %2F, %3F and %23)`,
    );
  }
  const db = path === '' ? 0 : Number(path);
  let username: string | undefined;
  let password: string | undefined;
  try {
    username = parsed.username === '' ? undefined : decodeURIComponent(parsed.username);
    password = parsed.password === '' ? undefined : decodeURIComponent(parsed.password);
  } catch {
    // Neither is echoed: a "%" not followed by two hex digits (write it %25) or an invalid UTF-8 sequence.
    throw new ConfigurationError(`${what} has a user name or password that is not valid percent-encoding (write % as %25)`);
  }
  const credentials = username === undefined ? (password === undefined ? '' : ':***@') : password === undefined ? `${username}@` : `${username}:***@`;
  const redacted = `${parsed.protocol}//${credentials}${parsed.host}${path === '' ? '' : `/${path}`}`;
  if (!tls && parsed.protocol !== 'redis:') {
    throw new ConfigurationError(`${what} ${redacted} has scheme ${parsed.protocol}, expected redis: or rediss:`);
  }
  if (host === '') throw new ConfigurationError(`${what} ${redacted} has no host`);
  return { host, port, db, tls, username, password, redacted };
}

/** ioredis' private method that rejects queued calls; see its use in `SingleConnectionMode.createClient`. */
interface InFlightQueue {
  flushQueue(error: Error, options: { offlineQueue: boolean }): void;
}

/**
 * ioredis bounds the TCP connect only: a connection whose handshake (TLS, AUTH, ready check) is never
 * answered, as behind a proxy or balancer that accepts and then forwards nothing, would stay in 'connect'
 * for good, and every call wait for it. Past `timeoutMs`, drop it: a single-node client tries again, a
 * cluster node connection is opened anew by the next call that needs it.
 */
function boundHandshake(connection: Redis, timeoutMs: number): void {
  let timer: NodeJS.Timeout | undefined;
  const stop = (): void => clearTimeout(timer);
  connection.on('connect', () => {
    stop();
    timer = setTimeout(() => {
      if (connection.status === 'connect') connection.disconnect(true);
    }, timeoutMs);
    timer.unref();
  });
  connection.on('ready', stop);
  connection.on('close', stop);
}

function reconnectDelay(exponentBase: number): (attempt: number) => number {
  return (attempt) => Math.min(exponentBase ** attempt, MAX_RECONNECT_DELAY_MS);
}

// Options shared by a single-node client and every node connection of a cluster client.
function nodeOptions(endpoint: Endpoint, settings: ClientSettings): RedisOptions {
  return {
    username: settings.username ?? endpoint.username,
    password: settings.password ?? endpoint.password,
    // Without options, Node's defaults: verify against its trusted CAs (and NODE_EXTRA_CA_CERTS), SNI
    // from each node's host name.
    ...(settings.tls !== undefined ? { tls: { ...settings.tls } } : endpoint.tls ? { tls: {} } : {}),
    connectTimeout: settings.connectionTimeout,
    ...(settings.responseTimeout === null ? {} : { commandTimeout: settings.responseTimeout }),
    maxRetriesPerRequest: settings.retries,
    // A write resent after a reconnect could overwrite a newer entry written meanwhile: fail it instead.
    autoResendUnfulfilledCommands: false,
    // ioredis' 2 s default keeps a timer, and so the process, alive after closing a connection that failed.
    disconnectTimeout: 100,
  };
}

/**
 * A single Redis server. Create it with {@link ConnectionMode.single}.
 *
 * # Caveats
 * Its `toString()` and `inspect` output show the URL with the password replaced by `***`.
 */
export class SingleConnectionMode {
  readonly kind = 'single' as const;
  readonly #endpoint: Endpoint;
  readonly #exponentBase: number;

  /** @internal Use {@link ConnectionMode.single}. */
  constructor(endpoint: Endpoint, exponentBase: number) {
    this.#endpoint = endpoint;
    this.#exponentBase = exponentBase;
  }

  /**
   * Sets the base of the exponential backoff between reconnection attempts: attempt `n` waits
   * `base^n` milliseconds, at most 2 seconds. Returns a new mode; this one is unchanged.
   *
   * # Default
   * `2`.
   *
   * # Examples
   * ```ts
   * ConnectionMode.single('redis://localhost:6379').exponentBase(3);
   * ```
   */
  exponentBase(base: number): SingleConnectionMode {
    if (!Number.isFinite(base) || base < 1) {
      throw new ConfigurationError(`exponentBase must be a finite number of at least 1, got ${String(base)}`);
    }
    return new SingleConnectionMode(this.#endpoint, base);
  }

  /** @internal Creates the ioredis client the backend owns; it connects when asked to. */
  createClient(settings: ClientSettings): IoredisClient {
    const endpoint = this.#endpoint;
    const client = new Redis({
      ...nodeOptions(endpoint, settings),
      host: endpoint.host,
      port: endpoint.port,
      db: endpoint.db,
      lazyConnect: true,
      // The runner batches the calls of a tick itself (IoredisScriptRunner's `batch`), more cheaply.
      enableAutoPipelining: false,
      retryStrategy: reconnectDelay(this.#exponentBase),
    });
    // With autoResendUnfulfilledCommands off, ioredis forgets the calls that were in flight when the
    // connection closed once it reconnects, without ever settling them: they would hang. Reject them now
    // ('close' is emitted before the reconnection, which only starts after the backoff delay), and the
    // calls in its offline queue too, which it would send after the reconnection even if they had failed
    // for their callers meanwhile. (The runner keeps calls out of that queue; a socket that stopped being
    // writable just before 'close' can still put one there.)
    client.on('close', () => {
      (client as unknown as InFlightQueue).flushQueue(new Error('Connection is closed.'), { offlineQueue: true });
    });
    boundHandshake(client, settings.connectionTimeout);
    return client;
  }

  /** The redacted URL, for messages: `redis://user:***@host:port/db`. */
  describe(): string {
    return this.#endpoint.redacted;
  }

  toString(): string {
    return `single(${this.describe()})`;
  }

  [inspect.custom](): string {
    return `SingleConnectionMode { ${this.describe()} }`;
  }
}

/**
 * A Redis Cluster, reached through seed nodes from which the others are discovered.
 * Create it with {@link ConnectionMode.cluster}.
 *
 * # Caveats
 * Its `toString()` and `inspect` output show the URLs with passwords replaced by `***`.
 */
export class ClusterConnectionMode {
  readonly kind = 'cluster' as const;
  readonly #seeds: readonly Endpoint[];
  readonly #readFromReplicas: boolean;

  /** @internal Use {@link ConnectionMode.cluster}. */
  constructor(seeds: readonly Endpoint[], readFromReplicas: boolean) {
    this.#seeds = seeds;
    this.#readFromReplicas = readFromReplicas;
  }

  /**
   * Sends reads (the read-only script, with EVALSHA_RO) to replicas; writes and removes always go to
   * primaries. Returns a new mode; this one is unchanged.
   *
   * # Default
   * Off: every operation goes to the primary that owns the key.
   *
   * # Caveats
   * A replica lags its primary: a read right after a write may miss the entry or see the previous one.
   *
   * # Examples
   * ```ts
   * ConnectionMode.cluster(['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000']).readFromReplicas();
   * ```
   */
  readFromReplicas(): ClusterConnectionMode {
    return new ClusterConnectionMode(this.#seeds, true);
  }

  /** @internal Creates the ioredis cluster client the backend owns; it connects when asked to. */
  createClient(settings: ClientSettings): IoredisClient {
    const first = this.#seeds[0] as Endpoint;
    const cluster = new Cluster(
      this.#seeds.map(({ host, port }) => ({ host, port })),
      {
        lazyConnect: true,
        // The runner batches the calls of a tick itself (IoredisScriptRunner's `batch`), more cheaply.
        enableAutoPipelining: false,
        scaleReads: this.#readFromReplicas ? 'slave' : 'master',
        maxRedirections: 16,
        // ioredis resends a call whose node connection closed under it, even one that already failed for
        // its caller: an old write could then overwrite a newer one. Fail it instead, as on a single node.
        retryDelayOnFailover: 0,
        slotsRefreshTimeout: settings.connectionTimeout,
        clusterRetryStrategy: reconnectDelay(2),
        redisOptions: nodeOptions(first, settings),
      },
    );
    cluster.on('+node', (node: Redis) => boundHandshake(node, settings.connectionTimeout));
    return cluster;
  }

  /** @internal Connects once to the first seed, as every node connection would, and returns why that failed. */
  async probeFirstSeed(settings: ClientSettings): Promise<Error | undefined> {
    const first = this.#seeds[0] as Endpoint;
    const probe = new Redis({ ...nodeOptions(first, settings), host: first.host, port: first.port, lazyConnect: true, retryStrategy: () => null });
    let failure: Error | undefined;
    probe.on('error', (error: Error) => (failure ??= error));
    try {
      await settleWithin(probe.connect(), settings.connectionTimeout, 'no connection');
    } catch (error) {
      failure ??= error as Error;
    } finally {
      probe.disconnect();
    }
    return failure === undefined ? undefined : new Error(failure.message);
  }

  /** The redacted seed URLs, for messages. */
  describe(): string {
    return this.#seeds.map((seed) => seed.redacted).join(', ');
  }

  toString(): string {
    return `cluster(${this.describe()})`;
  }

  [inspect.custom](): string {
    return `ClusterConnectionMode { ${this.describe()} }`;
  }
}

/**
 * Where the backend connects: one server, or a cluster.
 *
 * # Examples
 * ```ts
 * ConnectionMode.single('redis://:secret@localhost:6379/0');
 * ConnectionMode.cluster(['redis://node1:7000', 'redis://node2:7000']).readFromReplicas();
 * ```
 */
export type ConnectionMode = SingleConnectionMode | ClusterConnectionMode;

export const ConnectionMode = Object.freeze({
  /**
   * One Redis server at `url`: `redis://[user[:password]@]host[:port][/db]`, or `rediss://` for TLS
   * (verified against Node's trusted CAs, so `NODE_EXTRA_CA_CERTS` applies). Throws
   * `ConfigurationError` for a malformed URL.
   *
   * # Default
   * Port 6379, database 0, no credentials, reconnection backoff base 2.
   */
  single(url: string): SingleConnectionMode {
    return new SingleConnectionMode(parseEndpoint(url, 'connection URL'), 2);
  },

  /**
   * A Redis Cluster reached through the seed `urls` (the other nodes are discovered from them).
   * Credentials and TLS are taken from the first URL and apply to every node. Throws
   * `ConfigurationError` for an empty list or a malformed URL.
   *
   * # Default
   * Reads go to primaries; see {@link ClusterConnectionMode.readFromReplicas}.
   */
  cluster(urls: readonly string[]): ClusterConnectionMode {
    if (urls.length === 0) throw new ConfigurationError('a cluster needs at least one seed URL');
    return new ClusterConnectionMode(
      urls.map((url, index) => parseEndpoint(url, `cluster seed URL #${index + 1}`)),
      false,
    );
  },
});

/**
 * `promise`, or a rejection with `${what} within ${timeoutMs} ms` once that time has passed; the timer
 * never outlives the race.
 */
export async function settleWithin<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

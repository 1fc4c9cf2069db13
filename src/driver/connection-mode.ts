import { inspect } from 'node:util';

import { ConfigurationError } from '../core/errors.js';

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

/**
 * A single Redis server. Create it with {@link ConnectionMode.single}.
 *
 * # Caveats
 * Its `toString()` and `inspect` output show the URL with the password replaced by `***`.
 */
export class SingleConnectionMode {
  /** Tells the two modes of a {@link ConnectionMode} apart: `'single'` here. */
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

  /** @internal The server, for a driver. */
  get endpoint(): Endpoint {
    return this.#endpoint;
  }

  /** @internal The reconnection backoff base, for a driver. */
  get backoffBase(): number {
    return this.#exponentBase;
  }

  /** The redacted URL, for messages: `redis://user:***@host:port/db`. */
  describe(): string {
    return this.#endpoint.redacted;
  }

  /** `single(<redacted URL>)`, e.g. `single(redis://user:***@host:6379/0)`: safe to log. */
  toString(): string {
    return `single(${this.describe()})`;
  }

  /** What `util.inspect` and `console.log` show: the redacted URL, never the password. */
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
  /** Tells the two modes of a {@link ConnectionMode} apart: `'cluster'` here. */
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

  /** @internal The seed nodes, for a driver; credentials and TLS come from the first. */
  get seeds(): readonly Endpoint[] {
    return this.#seeds;
  }

  /** @internal Whether reads go to replicas, for a driver. */
  get replicaReads(): boolean {
    return this.#readFromReplicas;
  }

  /** The redacted seed URLs, for messages. */
  describe(): string {
    return this.#seeds.map((seed) => seed.redacted).join(', ');
  }

  /** `cluster(<redacted seed URLs>)`, comma-separated: safe to log. */
  toString(): string {
    return `cluster(${this.describe()})`;
  }

  /** What `util.inspect` and `console.log` show: the redacted seed URLs, never a password. */
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

/**
 * Creates a {@link ConnectionMode}: {@link ConnectionMode.single} for one server,
 * {@link ConnectionMode.cluster} for a Redis Cluster. Give it to {@link RedisBackendBuilder.connection}.
 *
 * # Caveats
 * Nothing connects here: the URLs are parsed and checked (a malformed one throws `ConfigurationError`
 * at once), and the backend connects on its first operation.
 *
 * @namespace
 */
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

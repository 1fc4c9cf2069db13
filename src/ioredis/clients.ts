/**
 * The ioredis clients a backend opens for itself, from its connection mode and settings.
 *
 * @module
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';

import type { ClusterConnectionMode, ConnectionMode, Endpoint } from '../driver/connection-mode.js';
import { reconnectDelay, type ClientSettings } from '../driver/settings.js';
import { settleWithin } from '../driver/settle.js';
import { rejectInFlight, TEXTS } from './internals.js';
import type { IoredisClient } from './runner.js';

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

/** Creates the ioredis client a backend owns for `mode`; it connects when asked to. */
export function createClient(mode: ConnectionMode, settings: ClientSettings): IoredisClient {
  return mode.kind === 'single' ? createSingle(mode.endpoint, mode.backoffBase, settings) : createCluster(mode, settings);
}

function createSingle(endpoint: Endpoint, backoffBase: number, settings: ClientSettings): Redis {
  const client = new Redis({
    ...nodeOptions(endpoint, settings),
    host: endpoint.host,
    port: endpoint.port,
    db: endpoint.db,
    lazyConnect: true,
    // The runner batches the calls of a tick itself (IoredisScriptRunner's `batch`), more cheaply.
    enableAutoPipelining: false,
    retryStrategy: (attempt) => reconnectDelay(backoffBase, attempt),
  });
  // ioredis forgets the calls in flight when the connection closed once it reconnects, without settling
  // them: reject them now ('close' is emitted before the reconnection, which only starts after the backoff
  // delay), and those in its offline queue too, which it would send after the reconnection even if they
  // had failed for their callers meanwhile. (The runner keeps calls out of that queue; a socket that
  // stopped being writable just before 'close' can still put one there.)
  client.on('close', () => rejectInFlight(client, new Error(TEXTS.connectionClosed)));
  boundHandshake(client, settings.connectionTimeout);
  return client;
}

function createCluster(mode: ClusterConnectionMode, settings: ClientSettings): Cluster {
  const cluster = new Cluster(
    mode.seeds.map(({ host, port }) => ({ host, port })),
    {
      lazyConnect: true,
      // The runner batches the calls of a tick itself (IoredisScriptRunner's `batch`), more cheaply.
      enableAutoPipelining: false,
      scaleReads: mode.replicaReads ? 'slave' : 'master',
      maxRedirections: 16,
      // ioredis resends a call whose node connection closed under it, even one that already failed for
      // its caller: an old write could then overwrite a newer one. Fail it instead, as on a single node.
      retryDelayOnFailover: 0,
      slotsRefreshTimeout: settings.connectionTimeout,
      clusterRetryStrategy: (attempt) => reconnectDelay(2, attempt),
      redisOptions: nodeOptions(mode.seeds[0] as Endpoint, settings),
    },
  );
  cluster.on('+node', (node: Redis) => boundHandshake(node, settings.connectionTimeout));
  return cluster;
}

/**
 * Connects once to the first seed of a cluster, as every node connection would, and returns why that
 * failed (a plain error with the message only), or `undefined` when it did not.
 */
export async function probeFirstSeed(mode: ClusterConnectionMode, settings: ClientSettings): Promise<Error | undefined> {
  const first = mode.seeds[0] as Endpoint;
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

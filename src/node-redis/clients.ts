/**
 * The node-redis clients a backend opens for itself, from its connection mode and settings, and the
 * slice of their API the driver uses.
 *
 * @module
 */
import { createClient, createCluster, RESP_TYPES } from '@redis/client';

import type { ClusterConnectionMode, Endpoint } from '../driver/connection-mode.js';
import { reconnectDelay, type ClientSettings } from '../driver/settings.js';
import type { SlotNode } from './internals.js';

/** Bulk strings as `Buffer`s, whatever the client's own type mapping: passed with every script call. */
export const BUFFER_REPLIES = Object.freeze({ typeMapping: Object.freeze({ [RESP_TYPES.BLOB_STRING]: Buffer }) });

type Listener = (...args: never[]) => void;

/** A node-redis client of one server (`createClient`), as the driver uses it. */
export interface NodeRedisNodeClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  sendCommand(args: Array<string | Buffer>, options?: object): Promise<unknown>;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  on(event: string, listener: Listener): unknown;
  off(event: string, listener: Listener): unknown;
  removeAllListeners(): unknown;
}

/** A node-redis cluster client (`createCluster`), as the driver uses it. */
export interface NodeRedisCluster {
  readonly isOpen: boolean;
  readonly masters: SlotNode[];
  readonly replicas: SlotNode[];
  readonly slots: ReadonlyArray<{ readonly master: SlotNode; readonly replicas?: SlotNode[] } | undefined>;
  nodeClient(node: SlotNode): NodeRedisNodeClient | Promise<NodeRedisNodeClient>;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  on(event: string, listener: Listener): unknown;
}

/** The reconnection policy of a single-node client: the pause before attempt `attempt` (from 1), or `false` to give up. */
export type ReconnectPolicy = (attempt: number) => number | false;

// Socket options shared by a single-node client and every node connection of a cluster client.
function socketOptions(endpoint: Endpoint, settings: ClientSettings): Record<string, unknown> {
  // Without options, Node's defaults: verify against its trusted CAs (and NODE_EXTRA_CA_CERTS), SNI from the host name.
  const tls = settings.tls !== undefined ? { tls: true, ...settings.tls } : endpoint.tls ? { tls: true } : {};
  return { ...tls, connectTimeout: settings.connectionTimeout };
}

/**
 * A password without a user name is the default user's, sent as `AUTH default <password>`: the same as
 * `AUTH <password>` for a server that checks it (Redis 6+), and accepted by one whose default user needs no
 * password, which refuses the one-argument AUTH ("called without any password configured"): node-redis
 * would fail the connection for it, where ioredis goes on (with a warning).
 */
function credentials(endpoint: Endpoint, settings: ClientSettings): Record<string, string> {
  const password = settings.password ?? endpoint.password;
  const username = settings.username ?? endpoint.username ?? (password === undefined ? undefined : 'default');
  return { ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }) };
}

/**
 * Creates a single-node client for `endpoint`; it connects when asked to.
 *
 * Calls never wait in node-redis' offline queue (`disableOfflineQueue`): the runner holds them until the
 * connection is ready, bounded, so that one that gave up is never sent; and when the connection drops,
 * node-redis then fails every call it holds instead of writing the unwritten ones after reconnecting.
 */
export function createSingleClient(endpoint: Endpoint, settings: ClientSettings, policy: ReconnectPolicy): NodeRedisNodeClient {
  return createClient({
    ...credentials(endpoint, settings),
    database: endpoint.db,
    disableOfflineQueue: true,
    socket: { ...socketOptions(endpoint, settings), host: endpoint.host, port: endpoint.port, reconnectStrategy: (retries: number) => policy(retries + 1) },
  }) as unknown as NodeRedisNodeClient;
}

/**
 * Creates a cluster client for `mode`; it connects when asked to. A node connection that drops retries
 * `settings.retries` times, then gives up; the driver then drops it, so that a new one is opened when
 * the node is needed again.
 */
export function createClusterClient(mode: ClusterConnectionMode, settings: ClientSettings): NodeRedisCluster {
  const first = mode.seeds[0] as Endpoint;
  const reconnectStrategy = (retries: number): number | false => (retries < settings.retries ? reconnectDelay(2, retries + 1) : false);
  return createCluster({
    rootNodes: mode.seeds.map(({ host, port }) => ({ socket: { host, port } })),
    useReplicas: mode.replicaReads,
    maxCommandRedirections: 16,
    defaults: {
      ...credentials(first, settings),
      disableOfflineQueue: true,
      socket: { ...socketOptions(first, settings), reconnectStrategy },
    },
  }) as unknown as NodeRedisCluster;
}

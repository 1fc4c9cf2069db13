/**
 * Every use of node-redis' private or undocumented internals, fenced in one module and checked when a
 * connection opens ({@link checkInternals}), so that another `@redis/client` version fails at once with a
 * clear `ConfigurationError` rather than misbehaving quietly. All of them concern the cluster client:
 * a single-node client is driven through public API only.
 *
 * @module
 */
import { createRequire } from 'node:module';

import { ConfigurationError } from '../core/errors.js';
import type { NodeRedisCluster, NodeRedisNodeClient } from './clients.js';

const require = createRequire(import.meta.url);

/** The `@redis/client` version this package resolves, for messages. */
export const NODE_REDIS_VERSION: string = (() => {
  try {
    return (require('@redis/client/package.json') as { version: string }).version;
  } catch {
    return 'of unknown version';
  }
})();

/** A call on one node client, as the cluster client's redirection loop runs it. */
export type NodeCall = (client: NodeRedisNodeClient, options: object) => Promise<unknown>;

/** One node of the cluster client's slot map (`cluster.masters`, `cluster.replicas` are public; `client` is written here). */
export interface SlotNode {
  readonly host: string;
  readonly port: number;
  client?: NodeRedisNodeClient;
  connectPromise?: Promise<unknown>;
}

interface ClusterInternals {
  _self?: {
    /** Routes `fn` to the node owning `firstKey` and runs it again on MOVED and ASK (with ASKING). */
    _execute?: (firstKey: unknown, isReadonly: boolean, options: object, fn: NodeCall) => Promise<unknown>;
    _slots?: { rediscover?: (startWith: NodeRedisNodeClient) => Promise<void> };
  };
}

function internalsOf(cluster: NodeRedisCluster): Required<NonNullable<ClusterInternals['_self']>> {
  return (cluster as unknown as Required<ClusterInternals>)._self as Required<NonNullable<ClusterInternals['_self']>>;
}

// cluster-key-slot is @redis/client's own dependency: resolved from there, it is the very function node-redis routes by.
const keySlot = ((): ((key: string | Buffer) => number) | undefined => {
  try {
    return createRequire(require.resolve('@redis/client'))('cluster-key-slot') as (key: string | Buffer) => number;
  } catch {
    return undefined;
  }
})();

/** Runs `fn` on the node of `firstKey` (a replica when `isReadonly` and the cluster uses replicas), following MOVED and ASK. */
export function executeOnKeyNode(cluster: NodeRedisCluster, firstKey: string | Buffer, isReadonly: boolean, options: object, fn: NodeCall): Promise<unknown> {
  return internalsOf(cluster)._execute.call(internalsOf(cluster), firstKey, isReadonly, options, fn);
}

/**
 * The client of the primary that owns `slot` in the slot map, when it takes calls now: what
 * node-redis' redirection loop would send on first, without its two async steps per call.
 */
export function readyPrimaryClient(cluster: NodeRedisCluster, slot: number): NodeRedisNodeClient | undefined {
  const client = cluster.slots[slot]?.master.client;
  return client?.isReady === true ? client : undefined;
}

/** The hash slot of `key`, as node-redis computes it. */
export function slotOf(key: string | Buffer): number {
  return (keySlot as (key: string | Buffer) => number)(key);
}

/**
 * Asks the cluster for its slot map again (node-redis does so on MOVED only: a primary that died
 * answers nothing, and its slots would stay mapped to it after its replica took over). At most one
 * runs at a time.
 */
export function rediscover(cluster: NodeRedisCluster, startWith: NodeRedisNodeClient): Promise<void> {
  const slots = internalsOf(cluster)._slots;
  return (slots.rediscover as (startWith: NodeRedisNodeClient) => Promise<void>).call(slots, startWith);
}

/**
 * Drops a node's connection: the cluster client opens a new one on the next call that needs the node.
 * node-redis keeps a node's client once created, even when it gave up reconnecting.
 */
export function dropNodeClient(node: SlotNode): void {
  if (node.client !== undefined && node.connectPromise === undefined) dropClientOf(node, node.client);
}

/**
 * Drops `client` if it is still `node`'s, even while its first connection is being opened: the call
 * waiting for that one then gets the closed client, and fails; the next call opens a new one.
 */
export function dropClientOf(node: SlotNode, client: NodeRedisNodeClient): void {
  if (node.client !== client) return;
  node.client = undefined;
  if (client.isOpen) client.destroy();
}

/**
 * Checks that `cluster` has the internals this module uses. Throws `ConfigurationError` naming the
 * `@redis/client` version otherwise.
 */
export function checkInternals(cluster: NodeRedisCluster): void {
  const self = (cluster as unknown as ClusterInternals)._self;
  const missing: string[] = [];
  if (typeof self?._execute !== 'function') missing.push('RedisCluster#_execute');
  if (typeof self?._slots?.rediscover !== 'function') missing.push('RedisClusterSlots#rediscover');
  if (typeof keySlot !== 'function') missing.push('cluster-key-slot');
  if (!Array.isArray(cluster.masters) || cluster.masters.some((node) => !('client' in node))) missing.push('a writable client of each slot node');
  if (missing.length > 0) {
    throw new ConfigurationError(
      `@redis/client ${NODE_REDIS_VERSION} lacks internals redis-lua-cache relies on (${missing.join(', ')}); use @redis/client 5.x, or .driver('ioredis')`,
    );
  }
}

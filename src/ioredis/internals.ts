/**
 * Every use of ioredis' private or undocumented internals, fenced in one module and checked when a
 * connection opens ({@link checkInternals}), so that another ioredis version fails at once with a clear
 * `ConfigurationError` rather than misbehaving quietly.
 *
 * @module
 */
import { createRequire } from 'node:module';

import type { Cluster, Redis } from 'ioredis';

import { ConfigurationError } from '../core/errors.js';
import type { IoredisClient } from './runner.js';

/** The ioredis version this package resolves, for messages. */
export const IOREDIS_VERSION: string = (() => {
  try {
    return (createRequire(import.meta.url)('ioredis/package.json') as { version: string }).version;
  } catch {
    return 'of unknown version';
  }
})();

/** A connection's socket, which the runner corks to batch the calls of a tick (`Redis#stream`). */
export interface Corkable {
  cork(): void;
  uncork(): void;
  readonly writable: boolean;
}

/** What ioredis keeps of the calls sent on a connection and not answered yet (`Redis#commandQueue`). */
export interface AnswerQueue {
  readonly length: number;
}

interface Internals {
  stream?: Corkable;
  commandQueue?: AnswerQueue;
  flushQueue?: (error: Error, options: { offlineQueue: boolean }) => void;
}

/** The socket of a connection, once it has one. */
export function socketOf(connection: Redis): Corkable | undefined {
  return (connection as unknown as Internals).stream;
}

/**
 * The keys (`host:port`) of the nodes ioredis may send a call for `slot` to, primary first, then its
 * replicas (`Cluster#slots`); `undefined` while it does not know the slot's owner. The runner predicts
 * from it which socket a call is written to: a wrong prediction only costs batching.
 */
export function nodeKeysOfSlot(cluster: Cluster, slot: number): readonly string[] | undefined {
  return cluster.slots[slot];
}

/** The key of a cluster's node connection in `Cluster#slots`: the host and port it was opened with. */
export function nodeKeyOf(node: Redis): string {
  return `${node.options.host}:${node.options.port}`;
}

/** The calls sent on `connection` and not answered yet. */
export function answerQueueOf(connection: Redis): AnswerQueue {
  return (connection as unknown as Internals).commandQueue as AnswerQueue;
}

/**
 * Rejects every call in flight on `connection`, and those in its offline queue, with `error`. With
 * `autoResendUnfulfilledCommands` off, ioredis forgets the calls that were in flight when a connection
 * closed, once it reconnects, without settling them.
 */
export function rejectInFlight(connection: Redis, error: Error): void {
  (connection as unknown as Internals).flushQueue?.call(connection, error, { offlineQueue: true });
}

/** The reason a cluster client gives inside its generic "Failed to refresh slots cache" error. */
export function lastNodeErrorOf(error: unknown): Error | undefined {
  const nodeError = (error as { lastNodeError?: unknown } | null | undefined)?.lastNodeError;
  return nodeError instanceof Error ? nodeError : undefined;
}

/** Replaces that reason, once a direct connection to a seed has told a better one. */
export function setLastNodeError(error: unknown, reason: Error): void {
  if (error !== null && typeof error === 'object') (error as { lastNodeError?: unknown }).lastNodeError = reason;
}

/** ioredis' texts for failures that have no error class of their own. */
export const TEXTS = Object.freeze({
  /** A call that got no reply within `commandTimeout`. */
  timedOut: 'Command timed out',
  /** A call on, or waiting for, a connection that closed. */
  connectionClosed: 'Connection is closed.',
  /** The end of the text with which ioredis refuses a pipeline whose keys moved to several nodes. */
  slotsGroupRefused: 'same slots allocation group',
});

/**
 * Checks that `client` has the internals this module uses: at connect time, on the client and, once it
 * is connected, on its socket(s). Throws `ConfigurationError` naming the ioredis version otherwise.
 */
export function checkInternals(client: IoredisClient): void {
  const connections: Redis[] = client.isCluster ? (client as Cluster).nodes('all') : [client as Redis];
  const missing: string[] = [];
  const probe = (client.isCluster ? connections[0] : client) as unknown as Internals | undefined;
  if (probe !== undefined) {
    if (typeof probe.flushQueue !== 'function') missing.push('Redis#flushQueue');
    const queue = probe.commandQueue;
    if (queue === undefined || typeof queue.length !== 'number') missing.push('Redis#commandQueue');
  }
  for (const connection of connections) {
    const stream = socketOf(connection);
    if (stream !== undefined && (typeof stream.cork !== 'function' || typeof stream.uncork !== 'function')) {
      missing.push('a corkable Redis#stream');
      break;
    }
  }
  if (client.isCluster && !Array.isArray((client as Cluster).slots)) missing.push('Cluster#slots');
  if (typeof (client as unknown as { evalshaBuffer?: unknown }).evalshaBuffer !== 'function') missing.push('evalshaBuffer');
  if (missing.length > 0) {
    throw new ConfigurationError(
      `ioredis ${IOREDIS_VERSION} lacks internals redis-lua-cache relies on (${missing.join(', ')}); use ioredis 5.x, or .driver('node-redis')`,
    );
  }
}

/**
 * What the backend may ask about node-redis without loading it: whether a client is one, whether it is
 * installed, and which options its driver refuses. Imports nothing of `@redis/client`.
 *
 * @module
 */
import { createRequire } from 'node:module';

import type { ConnectionMode } from '../driver/connection-mode.js';
import type { ClientSettings } from '../driver/settings.js';

/** The package the node-redis driver needs, as users install it. */
export const NODE_REDIS_PACKAGE = '@redis/client';

interface Shape {
  status?: unknown;
  isOpen?: unknown;
  isReady?: unknown;
  sendCommand?: unknown;
  withTypeMapping?: unknown;
  nodeClient?: unknown;
  getSlotMaster?: unknown;
}

function shapeOf(client: unknown): Shape | null {
  return typeof client === 'object' && client !== null ? (client as Shape) : null;
}

// ioredis clients have a string `status` and no `withTypeMapping`; both node-redis kinds have `withTypeMapping`.
function isNodeRedisShaped(candidate: Shape | null): candidate is Shape {
  return (
    candidate !== null &&
    candidate.status === undefined &&
    typeof candidate.isOpen === 'boolean' &&
    typeof candidate.sendCommand === 'function' &&
    typeof candidate.withTypeMapping === 'function'
  );
}

/** Whether `client` is a node-redis cluster (`createCluster` of node-redis 5), told by its shape. Loads nothing. */
export function isNodeRedisCluster(client: unknown): boolean {
  const candidate = shapeOf(client);
  return isNodeRedisShaped(candidate) && typeof candidate.nodeClient === 'function' && typeof candidate.getSlotMaster === 'function';
}

/**
 * Whether `client` is a node-redis client or cluster (`createClient` / `createCluster` of node-redis 5),
 * told by its shape (an application may hold another copy of node-redis than the one this package
 * resolves, so `instanceof` would not do). Loads nothing.
 */
export function isNodeRedisClient(client: unknown): boolean {
  const candidate = shapeOf(client);
  return isNodeRedisShaped(candidate) && (typeof candidate.isReady === 'boolean' || isNodeRedisCluster(client));
}

/** Whether `@redis/client` can be loaded from here, without loading it. */
export function isNodeRedisInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve(NODE_REDIS_PACKAGE);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first option of `mode` and `settings` the node-redis driver cannot honour, worded for a
 * message (`"..."` in "the node-redis driver does not support ..."), or `undefined`.
 *
 * # Caveats
 * Refused: `.autoPipelining(false)`. node-redis queues every command and writes the queue in the
 * event loop's check phase (`setImmediate`), so the calls of one tick always share socket writes; it has
 * no option, public or private, to write a call at once.
 */
export function unsupportedOption(mode: ConnectionMode, settings: ClientSettings): string | undefined {
  void mode;
  if (!settings.autoPipelining) {
    return 'autoPipelining(false): node-redis always writes the calls of one event-loop turn together (in its check phase) and cannot write a call by itself';
  }
  return undefined;
}

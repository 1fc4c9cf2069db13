import { createRequire } from 'node:module';

import type { ConnectionMode } from '../driver/connection-mode.js';
import type { ClientSettings } from '../driver/settings.js';

/** The package the node-redis driver needs, as users install it. */
export const NODE_REDIS_PACKAGE = '@redis/client';

/**
 * Whether `client` is a node-redis client or cluster (`createClient` / `createCluster` of node-redis 5),
 * told by its shape, so that nothing of node-redis is loaded to ask. Loads nothing.
 */
export function isNodeRedisClient(client: unknown): boolean {
  const candidate = client as { isOpen?: unknown; connect?: unknown; sendCommand?: unknown; status?: unknown } | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.isOpen === 'boolean' &&
    typeof candidate.connect === 'function' &&
    typeof candidate.sendCommand === 'function' &&
    candidate.status === undefined
  );
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
 */
export function unsupportedOption(mode: ConnectionMode, settings: ClientSettings): string | undefined {
  void mode;
  void settings;
  return undefined;
}

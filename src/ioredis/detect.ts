import type { IoredisClient } from './runner.js';

/**
 * Whether `client` is an ioredis `Redis` or `Cluster`, told by its shape (an application may hold another
 * copy of ioredis than this package's, so `instanceof` would not do). Loads nothing.
 */
export function isIoredisClient(client: unknown): client is IoredisClient {
  const candidate = client as { status?: unknown; isCluster?: unknown; sendCommand?: unknown } | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.status === 'string' &&
    typeof candidate.isCluster === 'boolean' &&
    typeof candidate.sendCommand === 'function'
  );
}

import type { Cluster, Redis } from 'ioredis';

import { SilenceTimer } from '../driver/silence-timer.js';
import { answerQueueOf } from './internals.js';
import type { IoredisClient } from './runner.js';

interface Watched {
  readonly connection: Redis;
  /** The call sent last before the watch started. */
  readonly newest: unknown;
}

/**
 * Finds the connections of a client that went silent without being closed (a partition, a NAT or a
 * firewall that forgot them, which TCP keeps for many minutes) and closes them so that they are replaced.
 *
 * A timeout starts a watch: every connection with calls outstanding is looked at once more a window
 * later, and one that has still not answered the last call sent before the watch started is taken for
 * dead. A busy connection answers its calls in order within the window, and stays. Waiting for the last
 * call rather than for any reply also replaces a connection whose replies stopped matching its calls
 * (bytes lost by a middlebox) while calls keep timing out on it.
 * A single-node connection is closed with a reconnect; a cluster node connection is dropped, and the
 * cluster client opens a new one on the next call that needs that node.
 *
 * # Caveats
 * A call that the server takes longer than two timeouts to answer also counts as silence: the connection
 * is replaced, which fails the calls still in flight on it.
 */
export class SilentConnectionWatch {
  readonly #client: IoredisClient;
  readonly #timer: SilenceTimer;

  constructor(client: IoredisClient, windowMs: number) {
    this.#client = client;
    this.#timer = new SilenceTimer(windowMs);
  }

  /** After a call timed out. At most one watch runs at a time: the calls that time out meanwhile join it. */
  start(): void {
    if (this.#timer.pending) return;
    const watched = connectionsOf(this.#client)
      .filter((connection) => connection.status === 'ready' && answerQueueOf(connection).length > 0)
      .map((connection): Watched => ({ connection, newest: answerQueueOf(connection).peekBack() }));
    if (watched.length === 0) return;
    this.#timer.schedule(() => {
      for (const { connection, newest } of watched) {
        if (connection.status === 'ready' && answerQueueOf(connection).toArray().includes(newest)) connection.disconnect(true);
      }
    });
  }

  stop(): void {
    this.#timer.stop();
  }
}

function connectionsOf(client: IoredisClient): Redis[] {
  return client.isCluster ? (client as Cluster).nodes('all') : [client as Redis];
}

import type { Cluster, Redis } from 'ioredis';

import { Probe, PROBE_SOURCE, SilenceTimer } from '../driver/silence-timer.js';
import { answerQueueOf } from './internals.js';
import type { IoredisClient } from './runner.js';

/**
 * Finds the connections of a client that went silent without being closed (a partition, a NAT or a
 * firewall that forgot them, which TCP keeps for many minutes), or whose replies stopped matching their
 * calls (bytes lost by a middlebox), and closes them so that they are replaced.
 *
 * A timeout starts a watch: every connection with calls outstanding is sent a {@link Probe}, and one that
 * has not answered it with its own token a window later is taken for dead. A busy connection answers its
 * calls in order, the probe last, within the window, and stays.
 * A single-node connection is closed with a reconnect; a cluster node connection is dropped, and the
 * cluster client opens a new one on the next call that needs that node.
 *
 * # Caveats
 * - A server that takes longer than two timeouts to answer also counts as silent: the connection is
 *   replaced, which fails the calls still in flight on it.
 * - The probe is given up at the response timeout like any call: an event loop blocked for that long just
 *   then makes a healthy connection look silent, and it is replaced.
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
      .map((connection) => ({ connection, probe: new Probe((token) => connection.eval(PROBE_SOURCE, 0, token)) }));
    if (watched.length === 0) return;
    this.#timer.schedule(() => {
      for (const { connection, probe } of watched) {
        if (connection.status === 'ready' && !probe.healthy) connection.disconnect(true);
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

import { Probe, PROBE_SOURCE, SilenceTimer } from '../driver/silence-timer.js';
import type { NodeRedisNodeClient } from './clients.js';

/**
 * Finds the connections that went silent without being closed (a partition, a NAT or a firewall that
 * forgot them, which TCP keeps for many minutes), or whose replies stopped matching their calls (bytes
 * lost by a middlebox), and has them replaced, with the semantics of the ioredis driver's watch: a
 * timeout starts a watch; every connection that was sent a call is sent a {@link Probe}, and one that has
 * not answered it with its own token a window later is taken for dead. A busy connection answers its calls
 * in order, the probe last, within the window, and stays.
 *
 * node-redis shows no queue of unanswered calls, so the runner records the connections it sent calls on
 * ({@link sent}, only when a response timeout is set).
 *
 * # Caveats
 * A server that takes longer than two timeouts to answer also counts as silent: the connection is
 * replaced, which fails the calls still in flight on it.
 */
export class SilentConnectionWatch {
  readonly #timer: SilenceTimer;
  readonly #drop: (client: NodeRedisNodeClient) => void;
  /** The connections calls were sent on since the last watch. */
  readonly #used = new Set<NodeRedisNodeClient>();

  constructor(windowMs: number, drop: (client: NodeRedisNodeClient) => void) {
    this.#timer = new SilenceTimer(windowMs);
    this.#drop = drop;
  }

  /** A call was sent on `client`. */
  sent(client: NodeRedisNodeClient): void {
    this.#used.add(client);
  }

  /** After a call timed out. At most one watch runs at a time: the calls that time out meanwhile join it. */
  start(): void {
    if (this.#timer.pending) return;
    const watched: Array<{ client: NodeRedisNodeClient; probe: Probe }> = [];
    for (const client of this.#used) {
      if (client.isReady) watched.push({ client, probe: new Probe((token) => client.sendCommand(['EVAL', PROBE_SOURCE, '0', token])) });
    }
    this.#used.clear();
    this.#timer.schedule(() => {
      for (const { client, probe } of watched) {
        if (!probe.healthy && client.isReady) this.#drop(client);
      }
    });
  }

  stop(): void {
    this.#timer.stop();
  }
}

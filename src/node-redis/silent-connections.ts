import { SilenceTimer } from '../driver/silence-timer.js';
import type { NodeRedisNodeClient } from './clients.js';

/**
 * Finds the connections that went silent without being closed (a partition, a NAT or a firewall that
 * forgot them, which TCP keeps for many minutes) and has them replaced, with the semantics of the
 * ioredis driver's watch: a timeout starts a watch; every connection that was sent a call is looked at
 * once more a window later, and one that has still not answered the last call sent on it before the
 * watch started is taken for dead. A busy connection answers its calls in order within the window, and
 * stays.
 *
 * node-redis shows no queue of unanswered calls, so the runner records the last call it sent on each
 * connection ({@link sent}, only when a response timeout is set).
 *
 * # Caveats
 * A call that the server takes longer than two timeouts to answer also counts as silence: the connection
 * is replaced, which fails the calls still in flight on it.
 */
export class SilentConnectionWatch {
  readonly #timer: SilenceTimer;
  readonly #drop: (client: NodeRedisNodeClient) => void;
  /** The last call sent on each connection. */
  readonly #newest = new Map<NodeRedisNodeClient, Promise<unknown>>();

  constructor(windowMs: number, drop: (client: NodeRedisNodeClient) => void) {
    this.#timer = new SilenceTimer(windowMs);
    this.#drop = drop;
  }

  /** `reply` is the last call sent on `client`. */
  sent(client: NodeRedisNodeClient, reply: Promise<unknown>): void {
    this.#newest.set(client, reply);
  }

  /** After a call timed out. At most one watch runs at a time: the calls that time out meanwhile join it. */
  start(): void {
    if (this.#timer.pending) return;
    const watched: Array<{ client: NodeRedisNodeClient; answered: boolean }> = [];
    for (const [client, newest] of this.#newest) {
      if (!client.isOpen) {
        this.#newest.delete(client);
        continue;
      }
      const entry = { client, answered: false };
      const answered = (): void => {
        entry.answered = true;
      };
      newest.then(answered, answered);
      watched.push(entry);
    }
    this.#timer.schedule(() => {
      for (const { client, answered } of watched) {
        if (!answered && client.isReady) {
          this.#newest.delete(client);
          this.#drop(client);
        }
      }
    });
  }

  stop(): void {
    this.#timer.stop();
  }
}

/**
 * What the silent-connection watches of the drivers share: the probe each sends on a connection, and the
 * timer of its judgement, one at a time, a window later.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';

/**
 * The call a watch sends on a connection to learn whether it still answers its own calls: a script that
 * replies with the token it is given. A script, because the minimal ACL rule of the README allows
 * scripts and neither PING nor ECHO; `no-writes`, so that `CLIENT PAUSE WRITE` does not hold it.
 */
export const PROBE_SOURCE = '#!lua flags=no-writes\nreturn ARGV[1]';

/**
 * A probe sent on one connection. It is healthy once its own token came back: a connection whose replies
 * stopped matching its calls (bytes lost by a middlebox) answers it with another call's reply, and a
 * silent one not at all. Either way its calls would keep timing out, or worse, get each other's replies.
 */
export class Probe {
  #healthy = false;

  /** Sends the probe with `send(token)`, which resolves with the connection's reply to it. */
  constructor(send: (token: string) => Promise<unknown>) {
    const token = randomUUID();
    send(token).then(
      (reply) => {
        this.#healthy = String(reply) === token;
      },
      // A probe that failed or timed out is not healthy: the judgement needs nothing more.
      () => undefined,
    );
  }

  get healthy(): boolean {
    return this.#healthy;
  }
}

/**
 * Runs a watch's judgement `windowMs` after {@link schedule}, in the check phase (`setImmediate`) of
 * that loop turn: after its poll phase has read the replies that arrived while the process was busy, so
 * that a blocked event loop does not make a connection look silent. Unref'd: it never keeps a process alive.
 */
export class SilenceTimer {
  readonly #windowMs: number;
  #timer: NodeJS.Timeout | NodeJS.Immediate | null = null;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** A judgement is pending: a watch started meanwhile joins it. */
  get pending(): boolean {
    return this.#timer !== null;
  }

  /** Runs `judge` one window from now (nothing if one is pending). */
  schedule(judge: () => void): void {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = setImmediate(() => {
        this.#timer = null;
        judge();
      });
    }, this.#windowMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
    }
    this.#timer = null;
  }
}

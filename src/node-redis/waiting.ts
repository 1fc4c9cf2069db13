/** A call waiting for the connection: `send` once it is ready, `fail` when it gives up. */
interface Waiter {
  send(): void;
  fail(error: Error): void;
  /** Reconnection attempts that started while it waited. */
  attempts: number;
}

/**
 * The calls made while the connection is not ready, in the order they were made. Each waits at most
 * `limitMs` and through at most `retries` failed reconnection attempts, then fails with "nothing was
 * sent"; one that gave up is never sent.
 */
export class WaitingCalls {
  readonly #limitMs: number;
  readonly #retries: number;
  readonly #waiting = new Set<Waiter>();

  constructor(limitMs: number, retries: number) {
    this.#limitMs = limitMs;
    this.#retries = retries;
  }

  /**
   * Runs `ready` once {@link sendAll} says the connection is ready and `isReady()` confirms it (else it
   * waits on, within the same deadline), or `fail` at the deadline.
   */
  add(isReady: () => boolean, ready: () => void, fail: (error: Error) => void, deadline = Date.now() + this.#limitMs): void {
    const waiter: Waiter = {
      attempts: 0,
      send: () => {
        clearTimeout(timer);
        if (!isReady()) return this.add(isReady, ready, fail, deadline);
        try {
          ready();
        } catch (error) {
          fail(error as Error);
        }
      },
      fail: (error) => {
        clearTimeout(timer);
        fail(error);
      },
    };
    const timer = setTimeout(() => {
      this.#waiting.delete(waiter);
      fail(new Error(`no connection to Redis within ${this.#limitMs} ms; nothing was sent`));
    }, Math.max(0, deadline - Date.now()));
    this.#waiting.add(waiter);
  }

  /** The connection is ready: sends every waiting call, in order. */
  sendAll(): void {
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const waiter of waiting) waiter.send();
  }

  /** A reconnection attempt starts: the calls that waited through `retries` failed ones give up. */
  countAttempt(): void {
    for (const waiter of this.#waiting) {
      if (++waiter.attempts > this.#retries) {
        this.#waiting.delete(waiter);
        waiter.fail(new Error(`no connection to Redis after ${waiter.attempts - 1} failed reconnection attempts; nothing was sent`));
      }
    }
  }

  /** Fails every waiting call with `error`; none is sent. */
  abandon(error: Error): void {
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const waiter of waiting) waiter.fail(error);
  }
}

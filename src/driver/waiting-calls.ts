/**
 * The calls a driver holds while its connection is not ready, so that a call that gave up is never sent
 * later (a client's own offline queue would send it once the connection came back). Client-agnostic:
 * a driver tells it when the connection is ready and when a reconnection attempt starts.
 *
 * @module
 */

/** A call waiting for the connection: `send` once it is ready, `fail` when it gives up. */
interface Waiter {
  send(): void;
  fail(error: Error): void;
  /** Reconnection attempts that started while it waited (each start but a connection's first follows a failed attempt). */
  attempts: number;
}

/** What {@link WaitingCalls} asks of the connection it waits for. */
export interface WaitedConnection {
  /** Whether a call sent now would be written to a live connection. */
  isReady(): boolean;
  /** Closed, or gave up reconnecting: a call would never be sent. */
  isEnded(): boolean;
  /** Its state, for messages (`reconnecting`, `connecting`, ...). */
  state(): string;
  /** `true` when a first call starts waiting, `false` when none waits any more: a driver may listen to its client only meanwhile. */
  listen?(on: boolean): void;
}

/**
 * The calls made while the connection is not ready, in the order they were made. Each waits at most
 * `limitMs` and through at most `retries` failed reconnection attempts, then fails with "nothing was
 * sent"; one that gave up is never sent.
 */
export class WaitingCalls {
  readonly #limitMs: number;
  readonly #retries: number;
  readonly #connection: WaitedConnection;
  readonly #waiting = new Set<Waiter>();

  constructor(limitMs: number, retries: number, connection: WaitedConnection) {
    this.#limitMs = limitMs;
    this.#retries = retries;
    this.#connection = connection;
  }

  /** How many calls wait. */
  get size(): number {
    return this.#waiting.size;
  }

  /**
   * Runs `ready` once {@link sendAll} says the connection is ready and it still is when the call's turn
   * comes (else the call waits on, within the same deadline), or `fail` when the call gives up. A
   * connection that has ended fails the call at once.
   */
  add(ready: () => void, fail: (error: Error) => void, deadline = Date.now() + this.#limitMs): void {
    if (this.#connection.isEnded()) return fail(new Error('the connection is closed; nothing was sent'));
    const waiter: Waiter = {
      attempts: 0,
      send: () => {
        clearTimeout(timer);
        if (!this.#connection.isReady()) return this.add(ready, fail, deadline);
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
      this.#remove(waiter);
      fail(new Error(`no connection to Redis within ${this.#limitMs} ms (${this.#connection.state()}); nothing was sent`));
    }, Math.max(0, deadline - Date.now()));
    this.#waiting.add(waiter);
    if (this.#waiting.size === 1) this.#connection.listen?.(true);
  }

  /** The connection is ready: sends every waiting call, in order. */
  sendAll(): void {
    for (const waiter of this.#takeAll()) waiter.send();
  }

  /** A reconnection attempt starts: the calls that waited through `retries` failed ones give up. */
  countAttempt(): void {
    for (const waiter of this.#waiting) {
      if (++waiter.attempts > this.#retries) {
        this.#remove(waiter);
        waiter.fail(new Error(`no connection to Redis after ${waiter.attempts} reconnection attempts (${this.#connection.state()}); nothing was sent`));
      }
    }
  }

  /** Fails every waiting call with `error`; none is sent. */
  abandon(error: Error): void {
    for (const waiter of this.#takeAll()) waiter.fail(error);
  }

  #takeAll(): Waiter[] {
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    if (waiting.length > 0) this.#connection.listen?.(false);
    return waiting;
  }

  #remove(waiter: Waiter): void {
    if (this.#waiting.delete(waiter) && this.#waiting.size === 0) this.#connection.listen?.(false);
  }
}

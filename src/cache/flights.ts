import type { RedisKey } from '../core/scripting.js';

/**
 * The `getOrSet` calls in flight in this process, one per Redis key: a caller that finds one joins it
 * instead of sending a script and running a factory of its own. The flight's own code lands it (in a
 * `finally`) rather than a callback on its promise: a fresh hit pays no promise more than it must.
 */
interface Flight {
  readonly promise: Promise<unknown>;
  readonly ticket: number;
  readonly startedAt: number;
}

export class Flights {
  readonly #flights = new Map<string, Flight>();
  #tickets = 0;

  /** The identity of `key` among flights: the same bytes are the same Redis key, as text or as a Buffer. */
  static idOf(key: RedisKey): string {
    return typeof key === 'string' ? key : key.toString('latin1');
  }

  /** The flight running for `id`, if any was started less than `maxAgeMs` ago. */
  running<T>(id: string, maxAgeMs: number): Promise<T> | undefined {
    const flight = this.#flights.get(id);
    if (flight === undefined || Date.now() - flight.startedAt >= maxAgeMs) return undefined;
    return flight.promise as Promise<T>;
  }

  /** A new flight's ticket, which names it when it lands. */
  ticket(): number {
    return ++this.#tickets;
  }

  /**
   * Records `flight` as running for `id`, replacing an older one. The flight must call {@link land} with
   * its ticket once it settles, and not before it was recorded (its code must await before it can land).
   */
  start(id: string, ticket: number, flight: Promise<unknown>): void {
    this.#flights.set(id, { promise: flight, ticket, startedAt: Date.now() });
  }

  /** Ends the flight of `ticket` at `id`, if it is still the one running there: later callers start a new one. */
  land(id: string, ticket: number): void {
    if (this.#flights.get(id)?.ticket === ticket) this.#flights.delete(id);
  }

  /** Lets later callers start a new flight at `id` rather than join `flight`, which goes on. */
  detach(id: string, flight: Promise<unknown>): void {
    if (this.#flights.get(id)?.promise === flight) this.#flights.delete(id);
  }

  /** How many flights are running. */
  get size(): number {
    return this.#flights.size;
  }
}

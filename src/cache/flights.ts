import type { RedisKey } from '../core/scripting.js';

/**
 * The `getOrSet` calls in flight in this process, one per Redis key: a caller that finds one joins it
 * instead of sending a script and running a factory of its own. The flight's own code lands it (in a
 * `finally`) rather than a callback on its promise: a fresh hit pays no promise more than it must.
 */
export class Flights {
  readonly #flights = new Map<string, Promise<unknown>>();

  /** The identity of `key` among flights: the same bytes are the same Redis key, as text or as a Buffer. */
  static idOf(key: RedisKey): string {
    return typeof key === 'string' ? key : key.toString('latin1');
  }

  /** The flight running for `id`, if any. */
  running<T>(id: string): Promise<T> | undefined {
    return this.#flights.get(id) as Promise<T> | undefined;
  }

  /**
   * Records `flight` as running for `id`. The flight must call {@link land} once it settles, and not
   * before it was recorded (its code must await before it can land).
   */
  start(id: string, flight: Promise<unknown>): void {
    this.#flights.set(id, flight);
  }

  /** Ends the flight of `id`: later callers start a new one. */
  land(id: string): void {
    this.#flights.delete(id);
  }

  /** How many flights are running. */
  get size(): number {
    return this.#flights.size;
  }
}

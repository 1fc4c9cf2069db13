import type { RedisKey } from '../core/scripting.js';

/**
 * The `getOrSet` calls in flight in this process, one per Redis key: a caller that finds one joins it
 * instead of sending a script and running a factory of its own. A flight leaves the map as it settles,
 * so the map holds only calls still running.
 */
export class Flights {
  readonly #flights = new Map<string, Promise<unknown>>();

  /** The flight for `key`, started with `start` when there is none. */
  join<T>(key: RedisKey, start: () => Promise<T>): Promise<T> {
    // The same bytes are the same Redis key, whether given as text or as a Buffer.
    const id = typeof key === 'string' ? key : key.toString('latin1');
    const running = this.#flights.get(id);
    if (running !== undefined) return running as Promise<T>;
    const flight = start();
    this.#flights.set(id, flight);
    const land = (): void => {
      this.#flights.delete(id);
    };
    flight.then(land, land);
    return flight;
  }

  /** How many flights are running. */
  get size(): number {
    return this.#flights.size;
  }
}

/**
 * The scripts sent on a single-node connection so far, so that a script's first call on each connection
 * goes as EVAL (which caches the script there) and its later calls as EVALSHA.
 *
 * A first call sent as EVALSHA to a server that lacks the script is answered `NOSCRIPT` and sent again as
 * EVAL, but only then: behind the calls written after it, which would run before it. Sending the first call
 * as EVAL keeps the calls of a connection in the order they were made. A server that loses its scripts
 * while the connection stays (`SCRIPT FLUSH`) still answers `NOSCRIPT`, and the call is sent again.
 */
export class SentScripts {
  #connection: object | undefined = undefined;
  readonly #sent = new Set<string>();

  /**
   * Whether the script `sha1` is sent on `connection` for the first time; from now on it counts as sent
   * there. A new connection starts with none. `undefined` (no connection yet) is always a first time.
   */
  isFirst(connection: object | undefined, sha1: string): boolean {
    if (connection === undefined) return true;
    if (connection !== this.#connection) {
      this.#connection = connection;
      this.#sent.clear();
    }
    if (this.#sent.has(sha1)) return false;
    this.#sent.add(sha1);
    return true;
  }
}

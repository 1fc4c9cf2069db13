/**
 * The seam between the backend and a Redis client library. The backend knows only this interface; each
 * client library has one folder of `src/` that implements it (`src/ioredis/`, `src/node-redis/`).
 *
 * @module
 */
import type { BackendError, ErrorContext } from '../core/errors.js';
import type { ScriptRunner } from '../core/scripting.js';

/**
 * The Redis client libraries the backend can drive.
 *
 * - `'ioredis'`: ioredis 5, a dependency of this package.
 * - `'node-redis'`: node-redis 5 (`@redis/client`), an optional peer dependency.
 */
export type DriverName = 'ioredis' | 'node-redis';

/**
 * One backend's connection to Redis, through one client library.
 *
 * It runs the generated scripts (it is the {@link ScriptRunner} they are given), opening its connection
 * lazily, once, on the first call; it turns whatever its client throws into the backend's typed errors;
 * it replaces connections that went silent; and it closes what it opened.
 *
 * # Caveats
 * An implementation must:
 * - open the connection once for all concurrent first calls, bounded by the connection timeout; a failed
 *   attempt is not kept, so the next call tries again;
 * - run each script with EVALSHA (EVALSHA_RO for a read-only script where reads may go to replicas),
 *   answer `NOSCRIPT` with EVAL of the same call, never use MULTI, follow cluster redirections, and
 *   return bulk strings as `Buffer`s;
 * - hold calls made while the connection is down (not send them later once they gave up), within the
 *   reconnect limit and retries of its settings;
 * - never put a password in an error it produces.
 */
export interface Driver extends ScriptRunner {
  /** Which client library this is. */
  readonly name: DriverName;

  /**
   * `undefined` when a call made now would be sent at once; otherwise a promise that resolves once it
   * would be (opening the connection first if need be), or rejects when it will not be ("nothing was
   * sent"). For a caller whose arguments depend on when they are sent, such as a TTL measured from now.
   */
  whenReady(): Promise<void> | undefined;

  /**
   * Maps a failure of {@link ScriptRunner.run} or {@link whenReady} to the matching typed error, naming
   * `context`. Called only on failures. A response timeout also starts the silent-connection check.
   */
  toBackendError(error: unknown, context: ErrorContext): BackendError;

  /**
   * The keys matching the glob `pattern` on every primary (the single node, or each primary of a
   * cluster, listed when called), a page at a time: SCAN with MATCH and COUNT `count`, node after node.
   * For enumerations, such as clearing a namespace; failures are the client's, for {@link toBackendError}.
   *
   * # Caveats
   * SCAN's guarantees hold per node: a key there throughout is returned at least once (possibly twice);
   * a key written, removed or moved to another node meanwhile may or may not be.
   */
  scanPrimaries(pattern: string, count: number): AsyncGenerator<Buffer[]>;

  /**
   * Closes the connection the driver opened (a client given by the application is left open). Calls
   * still waiting for the connection, and later ones, fail without being sent. Bounded by the
   * connection timeout. Safe to call twice.
   */
  close(): Promise<void>;
}

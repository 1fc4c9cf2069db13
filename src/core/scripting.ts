/**
 * The contract between the generated script wrappers (`generated/`) and a Redis client.
 *
 * The wrappers never import a Redis client: they describe a script ({@link ScriptDefinition}) and hand
 * it, with its keys and arguments, to a {@link ScriptRunner}. `src/ioredis/runner.ts` implements the
 * runner over ioredis; another client can be added by implementing this one interface.
 *
 * @module
 */

/** A Redis key as scripts receive it: text, or raw bytes for binary key formats. */
export type RedisKey = string | Buffer;

/** One script argument (ARGV entry). Numbers are sent in their decimal form. */
export type ScriptArgument = string | number | Buffer;

/**
 * A Lua script as the generator describes it.
 *
 * # Caveats
 * `source` is the file's exact text: `sha1` is the SHA1 of those bytes, so it equals what
 * `SCRIPT LOAD` returns for them.
 */
export interface ScriptDefinition {
  /** Script name, the `lua/<name>.lua` file name. */
  readonly name: string;
  /** Full Lua source, shebang line included. */
  readonly source: string;
  /** Lowercase hex SHA1 of `source`, as EVALSHA expects it. */
  readonly sha1: string;
  /** How many leading entries of `keysAndArguments` are keys (KEYS), the rest being ARGV. */
  readonly numberOfKeys: number;
  /** True when the script declares `#!lua flags=no-writes`: it may run on replicas (EVALSHA_RO). */
  readonly readOnly: boolean;
}

/**
 * Runs scripts on a Redis server or cluster.
 *
 * # Caveats
 * An implementation must run the script atomically with EVALSHA (EVALSHA_RO for read-only scripts),
 * recover from a `NOSCRIPT` reply without the caller noticing, never run it inside MULTI, and return
 * bulk strings as `Buffer`s.
 *
 * # Examples
 * ```ts
 * const reply = await runner.run(readScript, [key]);
 * ```
 */
export interface ScriptRunner {
  /**
   * Runs `script` with `keysAndArguments`: the first `script.numberOfKeys` entries are KEYS, the rest ARGV.
   * Resolves with the script's reply as decoded by the client.
   */
  run(script: ScriptDefinition, keysAndArguments: ScriptArgument[]): Promise<unknown>;
}

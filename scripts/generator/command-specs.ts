/**
 * The shape of `commands.generated.ts`: the key specifications of the commands Redis allows in a script,
 * as the server reports them in `COMMAND INFO` (Redis 7 and later). Declarations only: the table is
 * written by `scripts/command-table.ts`, read by `key-positions.ts`.
 *
 * Positions count arguments as the server does: 0 is the command name, 1 the first argument after it.
 * See https://redis.io/docs/latest/develop/reference/key-specs/.
 *
 * @module
 */

/** Where the search for a command's keys begins. */
export type BeginSearch =
  /** At a fixed argument. */
  | { readonly type: 'index'; readonly index: number }
  /** After the first argument equal to `keyword`, searching from `startFrom` (negative: from the end, backwards). */
  | { readonly type: 'keyword'; readonly keyword: string; readonly startFrom: number }
  /** The server cannot say. */
  | { readonly type: 'unknown' };

/** Which arguments are keys, from where the search began. */
export type FindKeys =
  /**
   * Keys from the beginning to `lastKey` (0: the beginning only; -1: the last argument; -2: the one
   * before it...), every `step`-th; with `lastKey` -1 and `limit` > 1, only the first 1/`limit` of
   * the remaining arguments.
   */
  | { readonly type: 'range'; readonly lastKey: number; readonly step: number; readonly limit: number }
  /** The argument at `keyNumIndex` says how many keys there are; the first is at `firstKey`, every `step`-th. */
  | { readonly type: 'keynum'; readonly keyNumIndex: number; readonly firstKey: number; readonly step: number }
  /** The server cannot say. */
  | { readonly type: 'unknown' };

/** One key specification of a command; `flags` as the server spells them (`RW`, `access`, `incomplete`...). */
export interface KeySpec {
  readonly begin: BeginSearch;
  readonly find: FindKeys;
  readonly flags: readonly string[];
}

/** A command a script may call: its key specifications, and its subcommands when it is a container (`OBJECT`). */
export interface CommandSpec {
  readonly keySpecs: readonly KeySpec[];
  /** By upper-case subcommand name: `ENCODING` for `OBJECT ENCODING`. */
  readonly subcommands?: Readonly<Record<string, CommandSpec>>;
}

/**
 * Where each command a script may call takes its keys, so that the `redis.call` rule can check every
 * key argument. The facts come from the server: `commands.generated.ts` holds the key specifications
 * of `COMMAND INFO` (regenerate it with `npm run generate:commands`); this module decides what they
 * mean for one call, and keeps the rule strict where they cannot say.
 *
 * @module
 */
import type { CommandSpec, KeySpec } from './command-specs.js';
import { COMMANDS, NOSCRIPT_COMMANDS, REDIS_VERSION } from './commands.generated.js';
import { stringLiteralValue } from './lua-lexer.js';

/**
 * Commands the server allows in scripts and whose key specifications are exact, but that touch keys
 * no argument names: a script calling them reads or changes keys that are not passed in KEYS, which
 * Redis Cluster cannot route and ACL key patterns cannot check.
 */
const TOUCHES_UNNAMED_KEYS: ReadonlyMap<string, string> = new Map([
  ['KEYS', 'it reads key names that are not passed in KEYS'],
  ['SCAN', 'it reads key names that are not passed in KEYS'],
  ['RANDOMKEY', 'it reads a key name that is not passed in KEYS'],
  ['FLUSHALL', 'it deletes keys that are not passed in KEYS'],
  ['FLUSHDB', 'it deletes keys that are not passed in KEYS'],
  ['SWAPDB', 'it changes keys that are not passed in KEYS'],
  ['SELECT', 'the keys the script touches after it are in another database than those passed in KEYS'],
]);

/**
 * Where a call's keys are: the positions of its arguments that are keys, counted from 1 after the
 * command name (and after a subcommand's name too: `OBJECT ENCODING <key>` has its key at 2).
 */
export interface KeyPositions {
  /** The command as reported, with its subcommand: `GET`, `OBJECT ENCODING`. */
  readonly name: string;
  /** Whether the argument at `position` is a key. */
  isKey(position: number): boolean;
  /**
   * Whether a key could follow `position` if more arguments came: true for a command whose keys run to
   * the end of its arguments (`DEL`, `MSET`), so that a last argument spreading several values is refused.
   */
  hasKeyAfter(position: number): boolean;
}

/** Why a call's keys cannot be checked: reported at the argument at `position` (0: the command name). */
export interface KeyPositionError {
  readonly position: number;
  readonly message: string;
  /** The message is about that argument's value, which the report shows (`found: ARGV[1]`). */
  readonly showsArgument: boolean;
}

/**
 * The key positions of a call of `command` (upper-case) with the arguments `args` (their Lua text,
 * trimmed, comments removed), or why they cannot be known:
 *
 * - a command unknown to the server, flagged `noscript`, or touching keys no argument names
 *   ({@link TOUCHES_UNNAMED_KEYS}) is refused;
 * - a container command (`OBJECT`, `XINFO`, `MEMORY`...) needs its subcommand as a string literal;
 * - a command whose keys follow a keyword (`XREAD ... STREAMS`, `GEORADIUS ... STORE`) is refused: the
 *   keyword may be any argument, a variable's value included, so the position cannot be fixed; so is
 *   one whose specification is `unknown` or flagged `incomplete` (`SORT`, `MIGRATE`);
 * - a command whose number of keys is an argument (`ZUNIONSTORE dest numkeys key...`) needs that
 *   argument as an integer literal;
 * - a key specification flagged `variable_flags` (`SET`, `BITFIELD`) is used as is: what varies with
 *   the arguments is whether the key is read or written, not where it is;
 * - one flagged `not_key` (`SPUBLISH`'s shard channel) is checked as a key: the server routes it by
 *   its hash slot as it does a key.
 */
export function keyPositions(command: string, args: readonly string[]): KeyPositions | KeyPositionError {
  const refusal = TOUCHES_UNNAMED_KEYS.get(command);
  if (refusal !== undefined) return { position: 0, message: `${command} is refused: ${refusal}`, showsArgument: false };
  const spec = COMMANDS[command];
  if (spec === undefined) return { position: 0, message: notAllowed(command), showsArgument: false };
  if (spec.subcommands === undefined) return positionsOf(command, spec, args, 0);
  const subcommand = args[0] === undefined ? undefined : stringLiteralValue(args[0])?.toUpperCase();
  if (subcommand === undefined) {
    return {
      position: args.length === 0 ? 0 : 1,
      message: `${command} subcommand must be a string literal so its keys can be checked`,
      showsArgument: args.length > 0,
    };
  }
  const name = `${command} ${subcommand}`;
  const subspec = spec.subcommands[subcommand];
  if (subspec === undefined) return { position: 1, message: notAllowed(name), showsArgument: false };
  return positionsOf(name, subspec, args, 1);
}

function notAllowed(name: string): string {
  return NOSCRIPT_COMMANDS.includes(name)
    ? `${name} is not allowed in scripts: Redis flags it noscript`
    : `unknown command ${name}: redis-server ${REDIS_VERSION} has no such command`;
}

/** The key positions of one command or subcommand; `first` arguments are its name's (the subcommand). */
function positionsOf(name: string, spec: CommandSpec, args: readonly string[], first: number): KeyPositions | KeyPositionError {
  // Positions as the server counts them: argv[0] is the command name, so argc counts it too.
  const argc = args.length + 1;
  const keys = new Set<number>();
  let openEnded = false;
  for (const keySpec of spec.keySpecs) {
    const problem = uncheckable(keySpec);
    if (problem !== undefined) return { position: 0, message: `${name} is refused: ${problem}`, showsArgument: false };
    if (keySpec.begin.type !== 'index') continue; // Narrowed by uncheckable.
    const begin = keySpec.begin.index;
    let last: number;
    let step: number;
    let start = begin;
    if (keySpec.find.type === 'range') {
      step = keySpec.find.step;
      const { lastKey, limit } = keySpec.find;
      if (lastKey >= 0) last = begin + lastKey;
      else if (limit === 0) last = argc + lastKey;
      else last = begin + Math.floor((argc - begin) / limit) + lastKey;
      if (lastKey < 0) openEnded = true;
    } else if (keySpec.find.type === 'keynum') {
      step = keySpec.find.step;
      const countPosition = begin + keySpec.find.keyNumIndex;
      const countText = args[countPosition - 1];
      if (countText === undefined) continue; // Redis replies a syntax error: no key is touched.
      const count = integerLiteral(countText);
      if (count === undefined) {
        return {
          position: countPosition,
          message: `${name} number of keys must be an integer literal so its keys can be checked`,
          showsArgument: true,
        };
      }
      start = begin + keySpec.find.firstKey;
      last = start + count - 1;
    } else {
      continue; // Narrowed by uncheckable.
    }
    for (let position = start; position <= last && position < argc; position += Math.max(step, 1)) {
      if (position > first) keys.add(position);
    }
  }
  const sorted = [...keys].sort((a, b) => a - b);
  return {
    name,
    isKey: (position) => keys.has(position),
    hasKeyAfter: (position) => openEnded || sorted.some((key) => key > position),
  };
}

/** Why the server's key specification cannot locate the keys of a call, if it cannot. */
function uncheckable(spec: KeySpec): string | undefined {
  if (spec.begin.type === 'keyword') {
    return `its keys follow the keyword ${spec.begin.keyword}, which may be at any argument, so their positions cannot be checked`;
  }
  if (spec.begin.type === 'unknown' || spec.find.type === 'unknown') {
    return 'the server cannot say which of its arguments are keys';
  }
  if (spec.flags.includes('incomplete')) return 'the server does not know all of its keys from its arguments';
  return undefined;
}

/** The value of a Lua integer literal (`2`) or of a string literal holding one (`'2'`), else undefined. */
function integerLiteral(text: string): number | undefined {
  const value = /^\d+$/.test(text) ? text : stringLiteralValue(text);
  return value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : undefined;
}

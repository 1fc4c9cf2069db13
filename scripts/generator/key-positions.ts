/**
 * Where each command a script may call takes its keys, so that the `redis.call` rule can check every
 * key argument. Kept apart from the rule so that adding a command touches only this table.
 *
 * @module
 */

/**
 * Where a command's keys are among its arguments, counted from 1 after the command name: a list of
 * positions (empty: the command takes no key), `'all'` (every argument is a key) or `'odd'` (key, value,
 * key, value...). A position past the last argument is simply absent: `OBJECT HELP` has no key.
 */
export type KeyPositions = readonly number[] | 'all' | 'odd';

/**
 * The commands a script may call, grouped by where their keys are (see `COMMAND INFO <name>` or the
 * command's page on redis.io). A command missing from here is refused rather than left unchecked: add
 * it to the group that matches it, or give it a new group. Commands Redis refuses in scripts (WATCH,
 * MULTI, EVAL...) stay out on purpose.
 */
const KEY_POSITION_TABLE: readonly (readonly [KeyPositions, readonly string[]])[] = [
  // No key at all.
  [[], ['TIME', 'PING', 'ECHO', 'INFO', 'DBSIZE']],
  // The first argument is the only key.
  [
    [1],
    [
      ...['GET', 'SET', 'SETEX', 'PSETEX', 'GETEX', 'GETDEL', 'GETSET', 'INCR', 'INCRBY', 'DECR', 'DECRBY'],
      ...['APPEND', 'STRLEN', 'TYPE', 'TTL', 'PTTL', 'EXPIRE', 'PEXPIRE', 'EXPIREAT', 'PEXPIREAT', 'PERSIST'],
      ...['EXPIRETIME', 'PEXPIRETIME', 'DUMP', 'RESTORE'],
      ...['HGET', 'HSET', 'HSETNX', 'HMSET', 'HMGET', 'HDEL', 'HEXISTS', 'HLEN', 'HKEYS', 'HVALS', 'HGETALL'],
      ...['HINCRBY', 'HINCRBYFLOAT', 'HSTRLEN'],
      ...['LPUSH', 'RPUSH', 'LPOP', 'RPOP', 'LLEN', 'LRANGE', 'LTRIM'],
      ...['SADD', 'SREM', 'SMEMBERS', 'SISMEMBER', 'SCARD'],
      ...['ZADD', 'ZREM', 'ZRANGE', 'ZSCORE', 'ZCARD', 'ZRANGEBYSCORE', 'ZREMRANGEBYSCORE'],
      ...['XADD', 'XLEN'],
    ],
  ],
  // A subcommand, then the key: OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT <key>, MEMORY USAGE <key>.
  [[2], ['OBJECT', 'MEMORY']],
  // Source and destination.
  [[1, 2], ['RENAME', 'RENAMENX', 'COPY', 'SMOVE', 'LMOVE', 'RPOPLPUSH']],
  // Every argument.
  ['all', ['DEL', 'UNLINK', 'EXISTS', 'TOUCH', 'MGET']],
  // key value [key value ...]
  ['odd', ['MSET', 'MSETNX']],
];

/** {@link KEY_POSITION_TABLE} by command name, upper-case. */
export const KEY_POSITIONS: ReadonlyMap<string, KeyPositions> = new Map(
  KEY_POSITION_TABLE.flatMap(([positions, commands]) => commands.map((command) => [command, positions] as const)),
);

export function isKeyPosition(positions: KeyPositions, position: number): boolean {
  if (positions === 'all') return true;
  if (positions === 'odd') return position % 2 === 1;
  return positions.includes(position);
}

export function hasKeyPositionAfter(positions: KeyPositions, position: number): boolean {
  return typeof positions === 'string' || positions.some((keyPosition) => keyPosition > position);
}

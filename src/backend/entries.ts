import type { CacheKeyFormat } from '../codecs/key-format.js';
import type { CacheKey } from '../core/cache-key.js';
import { InvalidKeyError, InvalidValueError, type ErrorContext, type Operation } from '../core/errors.js';
import type { RedisKey } from '../core/scripting.js';

/** Where an error about `key` happened. Rendering the key costs an encoding: only a failure pays it. */
export function errorContext(operation: Operation, key: CacheKey): ErrorContext {
  return { operation, key: key.toString() };
}

/** `key` encoded with `format`; throws `InvalidKeyError` (prefixed with `where`, e.g. `entry 3: `, in a batch). */
export function encodeKey(format: CacheKeyFormat, key: CacheKey, operation: Operation, where = ''): RedisKey {
  try {
    return format.encode(key);
  } catch (error) {
    const reason = error instanceof InvalidKeyError ? error.reason : `key format ${format.name} could not encode the key`;
    throw new InvalidKeyError(where + reason, { operation }, { cause: error });
  }
}

/** A write's arguments, checked: the data, and its expire and stale times in epoch milliseconds. */
export interface CheckedWrite {
  readonly data: Buffer;
  readonly expireMs: number | null;
  readonly staleMs: number | null;
}

/**
 * Checks what a write sends for `key`, before anything is: data that is a Buffer of at most
 * `maxValueBytes`, and valid dates. Throws `InvalidValueError` naming the key.
 */
export function checkWrite(key: CacheKey, data: unknown, expire: Date | null, stale: Date | null, maxValueBytes: number, operation: Operation): CheckedWrite {
  if (!Buffer.isBuffer(data)) {
    throw new InvalidValueError('data must be a Buffer', errorContext(operation, key));
  }
  // A bulk string over proto-max-bulk-len makes the server drop the connection, failing every call on it.
  if (data.length > maxValueBytes) {
    throw new InvalidValueError(`data is ${data.length} bytes, more than maxValueBytes (${maxValueBytes}); nothing was sent`, errorContext(operation, key));
  }
  return {
    data,
    expireMs: expire === null ? null : epochMillis(expire, 'expire', operation, key),
    staleMs: stale === null ? null : epochMillis(stale, 'stale', operation, key),
  };
}

/** Epoch milliseconds of a date, refusing `Invalid Date` with a message that says which one. */
function epochMillis(date: Date, what: string, operation: Operation, key: CacheKey): number {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new InvalidValueError(`${what} is not a valid Date`, errorContext(operation, key));
  }
  return ms;
}

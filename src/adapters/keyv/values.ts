import { CacheValue } from '../../core/cache-value.js';
import { InvalidValueError, type Operation } from '../../core/errors.js';

/**
 * The entry of a Keyv value: its bytes (UTF-8 of Keyv's serialized string) in field `d`, and the TTL as
 * the key's expiry. `ttl` in milliseconds; `undefined`, `null` and 0 mean none, as in Keyv.
 */
export function entryOf(value: unknown, ttl: unknown, operation: Operation, key: string): CacheValue<Buffer> {
  let data: Buffer;
  if (typeof value === 'string') data = Buffer.from(value, 'utf8');
  else if (Buffer.isBuffer(value)) data = value;
  else throw new InvalidValueError(`the value must be a string (Keyv's serialized value) or a Buffer, got ${value === null ? 'null' : typeof value}`, { operation, key });
  if (ttl === undefined || ttl === null || ttl === 0) return new CacheValue(data);
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0) {
    throw new InvalidValueError(`ttl must be a non-negative number of milliseconds, got ${typeof ttl === 'number' ? String(ttl) : typeof ttl}`, { operation, key });
  }
  return new CacheValue(data, new Date(Date.now() + ttl));
}

/** The Keyv value stored in an entry: the text of its bytes. */
export function valueOf(entry: CacheValue<Buffer> | null): string | undefined {
  return entry === null ? undefined : entry.data.toString('utf8');
}

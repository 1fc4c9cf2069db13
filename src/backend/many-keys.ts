import * as scripts from '../../generated/index.js';
import type { CacheKeyFormat } from '../codecs/key-format.js';
import type { CacheKey } from '../core/cache-key.js';
import { InvalidValueError, type Operation } from '../core/errors.js';
import type { RedisKey } from '../core/scripting.js';
import type { Driver } from '../driver/driver.js';
import { replyFailure } from '../driver/failures.js';
import { batchesOf } from '../driver/batches.js';
import { checkWrite, encodeKey, errorContext, type CheckedWrite } from './entries.js';

/** One entry of a many-key write: its key, data bytes, and expire and stale times. */
export interface ManyWrite {
  readonly key: CacheKey;
  readonly data: Buffer;
  readonly expire: Date | null;
  readonly stale: Date | null;
}

/** What the many-key operations need from their backend. */
export interface ManyKeysConfig {
  readonly driver: Driver;
  readonly keyFormat: CacheKeyFormat;
  readonly maxValueBytes: number;
  readonly clustered: boolean;
}

/**
 * The many-key operations of a backend: every key and value is checked before anything is sent; the
 * keys are then split into script calls (chunks on a single node, slot groups on a cluster, see
 * {@link batchesOf}) sent at once, and the replies put back in the order of the keys.
 */
export class ManyKeys {
  readonly #driver: Driver;
  readonly #keyFormat: CacheKeyFormat;
  readonly #maxValueBytes: number;
  readonly #clustered: boolean;

  constructor(config: ManyKeysConfig) {
    this.#driver = config.driver;
    this.#keyFormat = config.keyFormat;
    this.#maxValueBytes = config.maxValueBytes;
    this.#clustered = config.clustered;
  }

  /** The read reply of every key, in order; the first key holding foreign data rejects the whole call, naming it. */
  async read(keys: readonly CacheKey[], operation: Operation): Promise<scripts.ReadReply[]> {
    const redisKeys = this.#encodeAll(keys, operation);
    const replies: scripts.ReadReply[] = new Array(keys.length);
    await Promise.all(
      batchesOf(redisKeys, this.#clustered).map(async (batch) => {
        const got = await this.#call(() => scripts.readMany(this.#driver, batch.map((at) => redisKeys[at]!)), operation);
        const entries = Array.from(batch, (_, index) => readManyEntry(got, index));
        throwFirstFailure(entries, keys, batch, operation);
        for (let index = 0; index < batch.length; index++) replies[batch[index]!] = entries[index] as scripts.ReadReply;
      }),
    );
    return replies;
  }

  /** Writes every entry, in order; nothing is sent unless every key and value is valid. */
  async write(entries: readonly ManyWrite[], operation: Operation): Promise<void> {
    if (!Array.isArray(entries)) throw new InvalidValueError('entries must be an array of [key, value] pairs', { operation });
    const keys = entries.map((entry) => entry.key);
    const redisKeys = this.#encodeAll(keys, operation);
    const checked: CheckedWrite[] = entries.map((entry) => checkWrite(entry.key, entry.data, entry.expire, entry.stale, this.#maxValueBytes, operation));
    if (entries.length === 0) return;
    // TTLs are measured when the writes are sent, not before they waited for a connection.
    try {
      const waiting = this.#driver.whenReady();
      if (waiting !== undefined) await waiting;
    } catch (error) {
      throw this.#driver.toBackendError(error, { operation });
    }
    const now = Date.now();
    await Promise.all(
      batchesOf(redisKeys, this.#clustered).map((batch) => {
        const fields: (Buffer | string)[] = new Array(batch.length * 3);
        batch.forEach((at, index) => {
          const { data, staleMs, expireMs } = checked[at]!;
          fields[3 * index] = data;
          fields[3 * index + 1] = staleMs === null ? '' : String(staleMs);
          fields[3 * index + 2] = expireMs === null ? '' : String(expireMs - now);
        });
        // All or nothing: with an error anywhere in the call, nothing of it was written.
        return this.#call(() => scripts.writeMany(this.#driver, batch.map((at) => redisKeys[at]!), 1, fields), operation).then((replies) => throwFirstFailure(replies, keys, batch, operation));
      }),
    );
  }

  /** Removes every key; replies how many entries were removed. */
  async remove(keys: readonly CacheKey[], operation: Operation): Promise<number> {
    const redisKeys = this.#encodeAll(keys, operation);
    const counts = await Promise.all(
      batchesOf(redisKeys, this.#clustered).map(async (batch) => {
        // All or nothing too: with foreign data anywhere in the call, nothing of it was removed.
        const replies = await this.#call(() => scripts.removeMany(this.#driver, batch.map((at) => redisKeys[at]!)), operation);
        throwFirstFailure(replies, keys, batch, operation);
        return (replies as number[]).reduce((sum, count) => sum + count, 0);
      }),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  #encodeAll(keys: readonly CacheKey[], operation: Operation): RedisKey[] {
    if (!Array.isArray(keys)) throw new InvalidValueError('keys must be an array of CacheKey', { operation });
    // Array.from, not map: map skips the holes of a sparse array, which would go through unchecked.
    return Array.from(keys, (key, index) => encodeKey(this.#keyFormat, key, operation, `entry ${index + 1}: `));
  }

  /** Runs one script call of a batch, its failure a typed error. */
  async #call<R>(send: () => Promise<R>, operation: Operation): Promise<R> {
    try {
      return await send();
    } catch (error) {
      throw this.#driver.toBackendError(error, { operation });
    }
  }
}

/**
 * Key `index`'s part of a read_many reply (four elements per key): its read reply (null for a missing entry)
 * or, for a key that holds foreign data, the error text read would have replied.
 */
export function readManyEntry(reply: scripts.ReadManyReply, index: number): scripts.ReadReply | string {
  const at = 4 * index;
  const data = reply[at] as Buffer | null;
  const pttl = reply[at + 2] as number | null;
  if (pttl === null) return data === null ? null : data.toString();
  return [data as Buffer, reply[at + 1] as number | null, pttl, reply[at + 3] as Buffer | null];
}

/** Throws, naming its key, the first error a many-key script replied at a key's position (a string there). */
function throwFirstFailure(replies: readonly unknown[], keys: readonly CacheKey[], batch: readonly number[], operation: Operation): void {
  const failed = replies.findIndex((reply) => typeof reply === 'string');
  if (failed !== -1) throw replyFailure(replies[failed] as string, errorContext(operation, keys[batch[failed]!]!), undefined);
}

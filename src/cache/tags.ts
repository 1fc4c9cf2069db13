import { randomBytes } from 'node:crypto';

import * as scripts from '../../generated/index.js';
import { ForeignDataError, InvalidOptionError, type ErrorContext, type Operation } from '../core/errors.js';
import type { RedisKey } from '../core/scripting.js';
import { BATCH_CHUNK, batchesOf } from '../driver/batches.js';
import type { Driver } from '../driver/driver.js';

/** Most tags one entry, or one `invalidateTags` call, may have. */
export const MAX_TAGS = 64;

/** Options of a write: the tags it is written with (see `invalidateTags`). */
export interface WriteOptions {
  /**
   * Tags of the entry: `invalidateTags` with any of them makes it read as missing. Non-empty strings, at
   * most {@link MAX_TAGS}; a tag given twice counts once.
   *
   * # Default
   * None: an untagged entry, read with no extra round trip.
   */
  readonly tags?: readonly string[];
}

/** What {@link Tags} needs from its backend. */
export interface TagsConfig {
  readonly driver: Driver;
  readonly clustered: boolean;
}

/**
 * The tags of entries: each tag has a token (the value of its own key); an entry written with tags keeps,
 * in field `t`, the token each had then; invalidating a tag gives it a new random token, so every entry
 * that holds the old one reads as missing. Nothing compares clocks, and a tag key that was evicted reads
 * as invalidated (its entries are missing), never as valid.
 */
export class Tags {
  readonly #driver: Driver;
  readonly #clustered: boolean;
  constructor(config: TagsConfig) {
    this.#driver = config.driver;
    this.#clustered = config.clustered;
  }

  /** Field `t` for an entry written now with `tags`: their current tokens (given one when they have none). */
  async field(tags: readonly string[], context: ErrorContext): Promise<Buffer> {
    const tokens = await this.#each(tags, (keys, batch) => scripts.tagTokens(this.#driver, keys, batch.map(newToken)), context);
    return Buffer.from(JSON.stringify(tags.map((tag, index) => [tag, tokens[index]])));
  }

  /** For each field `t` (null: an untagged entry), whether one of its tags was invalidated since it was written. */
  async invalidated(fields: readonly (Buffer | null)[], operation: Operation, keyOf: (index: number) => string): Promise<boolean[]> {
    const written = fields.map((field, index) => (field === null ? null : parseField(field, { operation, key: keyOf(index) })));
    const tags = [...new Set(written.flatMap((pairs) => (pairs === null ? [] : pairs.map(([tag]) => tag))))];
    if (tags.length === 0) return fields.map(() => false);
    // A failing check of one entry names its key; of several, the operation.
    const context: ErrorContext = fields.length === 1 ? { operation, key: keyOf(0) } : { operation };
    const current = await this.#each(tags, (keys) => scripts.readTags(this.#driver, keys), context);
    const tokenOf = new Map(tags.map((tag, index) => [tag, current[index]]));
    return written.map((pairs) => pairs !== null && pairs.some(([tag, token]) => tokenOf.get(tag) !== token));
  }

  /** Gives every tag of `tags` a new token. */
  async invalidate(tags: readonly string[], context: ErrorContext): Promise<void> {
    await this.#each(tags, (keys, batch) => scripts.invalidateTags(this.#driver, keys, batch.map(newToken)), context);
  }

  /** Runs `send` over the tags' keys, one call per slot group (chunked), at once; the replies in the order of `tags`. */
  async #each<R>(tags: readonly string[], send: (keys: RedisKey[], batch: number[]) => Promise<R[] | number>, context: ErrorContext): Promise<(R | null)[]> {
    const keys = tags.map(tagKey);
    const replies: (R | null)[] = new Array(tags.length).fill(null);
    try {
      await Promise.all(
        batchesOf(keys, this.#clustered, BATCH_CHUNK).map(async (batch) => {
          const got = await send(batch.map((at) => keys[at]!), batch);
          if (Array.isArray(got)) batch.forEach((at, index) => (replies[at] = got[index] ?? null));
        }),
      );
    } catch (error) {
      throw this.#driver.toBackendError(error, context);
    }
    return replies;
  }
}

/**
 * The Redis key of a tag's token: `_tag=` and the tag, percent-encoded. No entry key of either key format
 * starts so (UrlEncoded keys start with `_prefix=`, Compact ones with a control character), so a tag key
 * never collides with an entry, and every backend on the Redis shares it whatever its key format.
 */
export function tagKey(tag: string): string {
  return `_tag=${encodeURIComponent(tag)}`;
}

/**
 * `tags` checked (an array of at most {@link MAX_TAGS} non-empty strings that make a key), without
 * repeats; throws `InvalidOptionError` naming the position of a bad one.
 */
export function checkTags(tags: unknown, context: ErrorContext): string[] {
  if (!Array.isArray(tags)) throw new InvalidOptionError(`tags must be an array of strings, got ${typeof tags}`, context);
  (tags as unknown[]).forEach((tag, index) => {
    if (typeof tag !== 'string' || tag === '') {
      throw new InvalidOptionError(`tag ${index + 1} must be a non-empty string, got ${typeof tag === 'string' ? '""' : typeof tag}`, context);
    }
    try {
      tagKey(tag);
    } catch {
      throw new InvalidOptionError(`tag ${index + 1} is not well-formed Unicode (a lone surrogate), so it cannot name a key`, context);
    }
  });
  const unique = [...new Set(tags as string[])];
  if (unique.length > MAX_TAGS) throw new InvalidOptionError(`at most ${MAX_TAGS} tags, got ${unique.length}`, context);
  return unique;
}

// Random, so that no token an entry holds can come back after an invalidation.
function newToken(): string {
  return randomBytes(12).toString('base64url');
}

function parseField(field: Buffer, context: ErrorContext): [string, string][] {
  let pairs: unknown;
  try {
    pairs = JSON.parse(field.toString('utf8'));
  } catch {
    pairs = undefined;
  }
  if (!Array.isArray(pairs) || !pairs.every((pair) => Array.isArray(pair) && pair.length === 2 && typeof pair[0] === 'string' && typeof pair[1] === 'string')) {
    throw new ForeignDataError('field t of the entry is not a list of tags and their tokens', context);
  }
  return pairs as [string, string][];
}

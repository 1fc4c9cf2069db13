import { CacheKeyFormat } from '../../codecs/key-format.js';
import { CacheKey, type KeyPart } from '../../core/cache-key.js';
import { ConfigurationError } from '../../core/errors.js';
import type { RedisKey } from '../../core/scripting.js';
import { escapeGlob } from './glob.js';

/** The keys of one namespace, for a SCAN: see {@link KeyvKeys.scanOf}. */
export interface NamespaceScan {
  readonly pattern: string;
  keyOf(redisKey: Buffer): string | undefined;
}

/** Version of the store's key layout: a different layout would take another, so it never reads this one's keys. */
const LAYOUT_VERSION = 1;
/** Name of the part that holds the namespace. */
const NAMESPACE_PART = 'ns';
/** Name of the part that holds the Keyv key. */
const KEY_PART = 'k';

/**
 * How the store's Keyv keys map to cache keys, and back from the Redis keys a SCAN finds.
 *
 * A Keyv key `key` of namespace `ns` is the cache key `(prefix, 1, [ns=<ns>, k=<key>])`, or
 * `(prefix, 1, [k=<key>])` without a namespace, stored under the backend's key format. In both built-in
 * formats every key of one namespace starts with the same text, and the text of one namespace never starts
 * with that of another: UrlEncoded escapes `&` in a namespace, Compact prefixes it with its length. That
 * text, glob-escaped, followed by `*`, is the SCAN pattern of the namespace.
 */
export class KeyvKeys {
  readonly #prefix: string;
  readonly #format: CacheKeyFormat;
  readonly #decode: (tail: string) => string | undefined;

  constructor(prefix: string, format: CacheKeyFormat) {
    this.#prefix = prefix;
    this.#format = format;
    if (format === CacheKeyFormat.UrlEncoded) this.#decode = formUrlDecode;
    else if (format === CacheKeyFormat.Compact) this.#decode = compactValue;
    else throw new ConfigurationError(`the Keyv store needs a built-in key format (UrlEncoded or Compact), got ${String(format?.name)}`);
  }

  /** The cache key of Keyv key `key` in `namespace` (none when `undefined` or empty). */
  cacheKey(namespace: string | undefined, key: string): CacheKey {
    return new CacheKey(this.#prefix, LAYOUT_VERSION, partsOf(namespace, key));
  }

  /**
   * The keys of `namespace` for a SCAN: the MATCH pattern of exactly them, and the Keyv key stored under a
   * Redis key it found (`undefined` for one the pattern matched that is not a key the store writes there:
   * it does not encode back to itself).
   */
  scanOf(namespace: string | undefined): NamespaceScan {
    const head = this.#head(namespace);
    return {
      pattern: `${escapeGlob(head)}*`,
      keyOf: (redisKey) => {
        const text = redisKey.toString('utf8');
        const key = text.startsWith(head) ? this.#decode(text.slice(head.length)) : undefined;
        return key !== undefined && this.#encode(this.cacheKey(namespace, key)) === text ? key : undefined;
      },
    };
  }

  /** What every key of `namespace` starts with: the text two Keyv keys of different lengths share. */
  #head(namespace: string | undefined): string {
    const short = this.#encode(this.cacheKey(namespace, ''));
    const long = this.#encode(this.cacheKey(namespace, 'xx'));
    let length = 0;
    while (length < short.length && short[length] === long[length]) length++;
    return short.slice(0, length);
  }

  #encode(key: CacheKey): string {
    const encoded: RedisKey = this.#format.encode(key);
    return typeof encoded === 'string' ? encoded : encoded.toString('utf8');
  }
}

function partsOf(namespace: string | undefined, key: string): KeyPart[] {
  const keyPart = { key: KEY_PART, value: key };
  return namespace === undefined || namespace === '' ? [keyPart] : [{ key: NAMESPACE_PART, value: namespace }, keyPart];
}

/** The text of a form-urlencoded value, or `undefined` when it is not one. */
function formUrlDecode(tail: string): string | undefined {
  try {
    return decodeURIComponent(tail.replace(/\+/g, '%20'));
  } catch {
    return undefined;
  }
}

/** The text after a Compact value's varint length (least significant digit first; a digit of 64 and more means more follow). */
function compactValue(tail: string): string | undefined {
  let at = 0;
  while (at < tail.length && tail.charCodeAt(at) >= 64) at++;
  return at < tail.length ? tail.slice(at + 1) : undefined;
}

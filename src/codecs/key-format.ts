import type { CacheKey } from '../core/cache-key.js';
import { InvalidKeyError } from '../core/errors.js';
import type { RedisKey } from '../core/scripting.js';

/**
 * Turns a {@link CacheKey} into the Redis key it is stored under.
 *
 * # Default
 * {@link CacheKeyFormat.UrlEncoded}.
 *
 * # Examples
 * ```ts
 * RedisBackend.builder().keyFormat(CacheKeyFormat.Compact);
 * ```
 */
export interface CacheKeyFormat {
  /** Stable name, for logs and diagnostics. */
  readonly name: string;
  /** Encodes `key`; throws {@link InvalidKeyError} when it cannot be encoded. */
  encode(key: CacheKey): RedisKey;
}

/**
 * hitbox's `CacheKeyFormat::UrlEncoded`: `_prefix=<prefix>&_version=<version>&<key>=<value>...`, each
 * text form-urlencoded. A Rust hitbox service and this backend find each other's entries under it.
 */
const UrlEncoded: CacheKeyFormat = Object.freeze({
  name: 'url-encoded',
  encode: (key: CacheKey): RedisKey => key.toString(),
});

/** First character of every Compact key: never the first of a UrlEncoded key (`_`), so the two cannot collide. */
export const COMPACT_KEY_MARKER = '\u0001';

// One-character strings for the 128 ASCII codes, so a varint digit costs no allocation.
const ASCII = Array.from({ length: 128 }, (_, code) => String.fromCharCode(code));

/**
 * A varint in ASCII characters, least significant first: a digit of 6 bits is char `0..63` when it is the
 * last and char `64..127` when more follow. Every character is one UTF-8 byte, and lengths under 64 take one.
 */
function varint(value: number): string {
  let out = '';
  while (value >= 64) {
    out += ASCII[64 + (value % 64)];
    value = Math.floor(value / 64);
  }
  return out + ASCII[value];
}

// varint(UTF-16 length + bias), then the text itself.
function field(text: string, bias: number): string {
  // A lone surrogate would be sent as U+FFFD, so two distinct keys could end up as the same bytes.
  if (!text.isWellFormed()) {
    throw new InvalidKeyError('key text is not well-formed UTF-16 (it holds a lone surrogate)');
  }
  return varint(text.length + bias) + text;
}

function encodeCompact(key: CacheKey): RedisKey {
  let out = COMPACT_KEY_MARKER + varint(key.version) + field(key.prefix, 0);
  for (const part of key.parts) {
    // 0 marks an absent value, so `flag` (no value) and `flag=` (empty value) stay distinct.
    out += field(part.key, 0) + (part.value === undefined ? ASCII[0] : field(part.value, 1));
  }
  return out;
}

/**
 * A length-prefixed encoding, shorter than UrlEncoded and cheaper to build (nothing is percent-encoded).
 * Not hitbox-compatible.
 *
 * Layout, as text (sent as UTF-8): the character U+0001; varint `version`; varint length of `prefix`,
 * then `prefix`; then per part: varint length of `key`, then `key`, then `0` for an absent value or
 * varint (length + 1) of `value`, then `value`. Lengths count UTF-16 code units; a varint digit is one
 * ASCII character holding 6 bits, `0..63` for the last digit and `64..127` when more follow. Every
 * field is length-prefixed, so distinct keys never encode to the same bytes.
 *
 * # Caveats
 * In Redis Cluster a `{` and a later `}` act as a hash tag, as in any key; they can come from the text
 * or from a length digit (`{` is 123), which only affects which slot a key lands in, never correctness.
 * Keys stay valid UTF-8, so ioredis computes their cluster slot correctly when it auto-pipelines.
 */
const Compact: CacheKeyFormat = Object.freeze({ name: 'compact', encode: encodeCompact });

/**
 * The built-in key formats.
 *
 * | Format | Size | Human-readable | hitbox-compatible |
 * |--------|------|----------------|-------------------|
 * | `UrlEncoded` (default) | larger | yes | yes |
 * | `Compact` | smaller | no | no |
 *
 * @namespace
 */
export const CacheKeyFormat = Object.freeze({ UrlEncoded, Compact });

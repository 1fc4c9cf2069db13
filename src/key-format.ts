import type { CacheKey } from './cache-key.js';
import { InvalidKeyError } from './errors.js';
import type { RedisKey } from './scripting.js';

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

/** First byte of every Compact key: never the first byte of a UrlEncoded key (`_`), so the two cannot collide. */
export const COMPACT_KEY_MARKER = 0xcb;

let scratch = Buffer.allocUnsafe(1024);

function writeVarint(value: number, offset: number): number {
  while (value > 0x7f) {
    scratch[offset++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  scratch[offset++] = value;
  return offset;
}

function checkWellFormed(text: string): void {
  if (!text.isWellFormed()) {
    throw new InvalidKeyError('key text is not well-formed UTF-16 (it holds a lone surrogate)');
  }
}

// Writes varint(byte length + bias) then the UTF-8 bytes. `scratch` is sized by the caller.
function writeText(text: string, bias: number, offset: number): number {
  checkWellFormed(text);
  const length = Buffer.byteLength(text, 'utf8');
  offset = writeVarint(length + bias, offset);
  return offset + scratch.write(text, offset, 'utf8');
}

function encodeCompact(key: CacheKey): RedisKey {
  // UTF-8 needs at most 3 bytes per UTF-16 unit; each varint at most 5 bytes.
  let bound = 6 + 5 + key.prefix.length * 3;
  for (const part of key.parts) bound += 10 + (part.key.length + (part.value?.length ?? 0)) * 3;
  if (scratch.length < bound) scratch = Buffer.allocUnsafe(bound * 2);

  scratch[0] = COMPACT_KEY_MARKER;
  let offset = writeVarint(key.version, 1);
  offset = writeText(key.prefix, 0, offset);
  for (const part of key.parts) {
    offset = writeText(part.key, 0, offset);
    // 0 marks an absent value, so `flag` (no value) and `flag=` (empty value) stay distinct.
    offset = part.value === undefined ? writeVarint(0, offset) : writeText(part.value, 1, offset);
  }
  return Buffer.from(scratch.subarray(0, offset));
}

/**
 * A binary encoding, shorter than UrlEncoded and cheaper to build. Not hitbox-compatible.
 *
 * Layout: byte `0xCB`; LEB128 varint `version`; varint byte length of `prefix`, then its UTF-8 bytes;
 * then per part: varint byte length of `key` and its UTF-8 bytes, then `0` for an absent value or
 * varint (byte length + 1) of `value` and its UTF-8 bytes. Every field is length-prefixed, so distinct
 * keys never encode to the same bytes.
 *
 * # Caveats
 * In Redis Cluster, a `{` and a later `}` in the bytes act as a hash tag, as in any key; length bytes
 * can take those values (123 and 125), which only affects which slot a key lands in, never correctness.
 */
const Compact: CacheKeyFormat = Object.freeze({ name: 'compact', encode: encodeCompact });

/**
 * The built-in key formats.
 *
 * | Format | Size | Human-readable | hitbox-compatible |
 * |--------|------|----------------|-------------------|
 * | `UrlEncoded` (default) | larger | yes | yes |
 * | `Compact` | smaller | no | no |
 */
export const CacheKeyFormat = Object.freeze({ UrlEncoded, Compact });

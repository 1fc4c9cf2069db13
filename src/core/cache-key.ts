import { InvalidKeyError } from './errors.js';

/** One `key=value` part of a {@link CacheKey}. A part without `value` encodes as `key=`. */
export interface KeyPart {
  /** The part's name: any string but `_prefix` and `_version` (reserved by the UrlEncoded format). */
  readonly key: string;
  /**
   * The part's value.
   *
   * # Default
   * Absent: the part is a flag. In the UrlEncoded format an absent value and an empty one encode alike
   * (`key=`); Compact keeps them apart.
   */
  readonly value?: string;
}

const MAX_VERSION = 0xffff_ffff;

// form_urlencoded (the WHATWG application/x-www-form-urlencoded serializer that hitbox uses) keeps
// only these bytes as they are; encodeURIComponent also keeps ! ' ( ) ~ and encodes space as %20.
const FORM_SAFE = /^[A-Za-z0-9*\-._]*$/;
const FORM_FIXUPS = /[!'()~]|%20/g;
const FORM_FIXUP_TABLE: Readonly<Record<string, string>> = {
  '!': '%21',
  "'": '%27',
  '(': '%28',
  ')': '%29',
  '~': '%7E',
  '%20': '+',
};

function formFixup(match: string): string {
  return FORM_FIXUP_TABLE[match] ?? match;
}

/**
 * Encodes text exactly as Rust's `form_urlencoded::byte_serialize` does.
 * Throws `URIError` on a lone UTF-16 surrogate, which has no UTF-8 form.
 */
export function formUrlEncode(text: string): string {
  if (FORM_SAFE.test(text)) return text;
  return encodeURIComponent(text).replace(FORM_FIXUPS, formFixup);
}

// The names UrlEncoded gives the prefix and the version. A part with one of them would read, to anything
// that parses the key back as a form (hitbox among them), as a second prefix or version.
const RESERVED_PART_KEYS = new Set(['_prefix', '_version']);

/** A checked copy of `part`, so that the caller changing its own objects later cannot change the key. */
function checkedPart(part: KeyPart): KeyPart {
  if (typeof part?.key !== 'string') throw new InvalidKeyError(`a part key must be a string, got ${typeof part?.key}`);
  if (part.value !== undefined && typeof part.value !== 'string') {
    throw new InvalidKeyError(`the value of part ${part.key} must be a string or absent, got ${typeof part.value}`);
  }
  if (RESERVED_PART_KEYS.has(part.key)) {
    throw new InvalidKeyError(`part key ${part.key} is reserved: UrlEncoded keys use it for the key's own ${part.key.slice(1)}`);
  }
  return part.value === undefined ? { key: part.key } : { key: part.key, value: part.value };
}

/**
 * Identifies a cache entry: a prefix, a version and ordered `key=value` parts, as in hitbox.
 *
 * Part order matters and duplicate part keys are allowed: `[a=1, b=2]`, `[b=2, a=1]` and `[a=1, a=1]`
 * are three different keys. Keys are immutable: the parts are copied, so changing the array or the
 * part objects given to the constructor afterwards does not change the key.
 *
 * # Caveats
 * - `version` must be an integer from 0 to 2^32-1 (hitbox's `u32`), texts must be strings, and no part
 *   key may be `_prefix` or `_version` (reserved by the UrlEncoded format); the constructor throws
 *   {@link InvalidKeyError} otherwise.
 * - In the UrlEncoded format a part without value and a part with an empty value are the same key
 *   (`flag=`), as in hitbox. Compact keeps them apart.
 * - Text must be well-formed UTF-16 (no lone surrogates): encoding such a key throws {@link InvalidKeyError}.
 *
 * # Examples
 * ```ts
 * const key = new CacheKey('api', 1, [
 *   { key: 'method', value: 'GET' },
 *   { key: 'path', value: '/users/123' },
 *   { key: 'flag' },
 * ]);
 * String(key); // '_prefix=api&_version=1&method=GET&path=%2Fusers%2F123&flag='
 * ```
 */
export class CacheKey {
  /** The namespace of the key, e.g. the service or the resource; any string, the empty one included. */
  readonly prefix: string;
  /** The version of the cached data's shape, an integer from 0 to 2^32-1: bump it to stop reading old entries. */
  readonly version: number;
  /** The `key=value` parts, in order: a copy of those given, so later changes to them do not reach the key. */
  readonly parts: readonly KeyPart[];
  #urlEncoded: string | undefined;

  /**
   * Checks and copies the parts; throws {@link InvalidKeyError} for a version out of range, a text that is
   * not a string, or a reserved part key.
   *
   * # Default
   * `parts` is empty: the key is the prefix and the version alone.
   */
  constructor(prefix: string, version: number, parts: readonly KeyPart[] = []) {
    if (!Number.isInteger(version) || version < 0 || version > MAX_VERSION) {
      throw new InvalidKeyError(`version must be an integer from 0 to ${MAX_VERSION}, got ${String(version)}`);
    }
    if (typeof prefix !== 'string') throw new InvalidKeyError(`prefix must be a string, got ${typeof prefix}`);
    this.prefix = prefix;
    this.version = version;
    // A loop, not map(): map skips the holes of a sparse array, which must be refused like any non-part.
    const copy: KeyPart[] = new Array(parts.length);
    for (let i = 0; i < parts.length; i++) copy[i] = checkedPart(parts[i] as KeyPart);
    this.parts = copy;
  }

  /**
   * The hitbox-compatible form-urlencoded rendering, computed once:
   * `_prefix=<prefix>&_version=<version>&<key>=<value or empty>...`.
   * This is also how keys appear in error messages.
   *
   * Throws {@link InvalidKeyError} when some text holds a lone surrogate.
   */
  toString(): string {
    return (this.#urlEncoded ??= this.#encodeUrl());
  }

  #encodeUrl(): string {
    try {
      let out = `_prefix=${formUrlEncode(this.prefix)}&_version=${this.version}`;
      for (const part of this.parts) {
        out += `&${formUrlEncode(part.key)}=${part.value === undefined ? '' : formUrlEncode(part.value)}`;
      }
      return out;
    } catch (error) {
      throw new InvalidKeyError('key text is not well-formed UTF-16 (it holds a lone surrogate)', undefined, {
        cause: error,
      });
    }
  }
}

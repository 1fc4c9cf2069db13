import { C1, Packr } from 'msgpackr';

/**
 * Turns values into bytes and back. Implement it to store values in a format of your own.
 *
 * Errors thrown by `serialize` or `deserialize` reach the caller as `FormatError`, with the key.
 *
 * # Examples
 * ```ts
 * const utf8: Format = {
 *   name: 'utf8',
 *   serialize: (value) => Buffer.from(String(value), 'utf8'),
 *   deserialize: (bytes) => bytes.toString('utf8'),
 * };
 * ```
 */
export interface Format {
  /** Stable name, for logs and diagnostics. */
  readonly name: string;
  /** Turns `value` into the bytes to store (before compression); throws when it cannot represent it. */
  serialize(value: unknown): Buffer;
  /**
   * Turns stored bytes (after decompression) back into a value.
   *
   * # Caveats
   * The bytes come from Redis and may have been written by anything: throw on bytes that are not valid
   * for the format rather than return a made-up value.
   */
  deserialize(bytes: Buffer): unknown;
}

/**
 * MessagePack, via msgpackr, in its standard mode (no record extension) so that any MessagePack
 * decoder reads the entries. Keeps `Buffer`s and `Date`s as such; compact and fast.
 *
 * # Default
 * The default value format.
 *
 * # Caveats
 * A decoded `Buffer` (a `bin` value) is a view of the bytes decoded, not a copy, as msgpackr returns it.
 * An instance keeps a reference to the memory of the bytes it decoded last (for replies read from Redis,
 * the socket's chunk they came in, usually 64 KiB) until it decodes others.
 *
 * # Examples
 * ```ts
 * RedisBackend.builder().valueFormat(new MsgpackFormat());
 * ```
 */
export class MsgpackFormat implements Format {
  readonly name = 'msgpack';
  readonly #packr = new Packr({ useRecords: false, moreTypes: false });
  /**
   * A Buffer over the whole memory of the bytes last decoded (see deserialize). It keeps that memory (a
   * socket's chunk, usually 64 KiB) until the next decode: a WeakRef would cost as much as the decode saves.
   */
  #whole: Buffer | null = null;

  serialize(value: unknown): Buffer {
    return this.#packr.pack(value);
  }

  deserialize(bytes: Buffer): unknown {
    // msgpackr reads an end of 0 as "to the end of the Buffer": empty bytes are decoded (refused) as they are.
    const value = bytes.length === 0 ? this.#packr.unpack(bytes) : this.#packr.unpack(this.#wholeOf(bytes), { start: bytes.byteOffset, end: bytes.byteOffset + bytes.length });
    // msgpackr decodes the never-used type 0xC1 to a marker object instead of failing: corrupt bytes would
    // come back as a valid-looking value. Only bytes that hold 0xC1 at all need the walk.
    if (bytes.includes(0xc1) && holdsNeverUsed(value)) {
      throw new Error('the bytes hold MessagePack type 0xC1, which is never used: they are not MessagePack');
    }
    return value;
  }

  /**
   * One Buffer over all the memory `bytes` is a view of, decoded from `bytes.byteOffset`: msgpackr makes a
   * DataView for each Buffer it decodes and stores it on that Buffer, a third of its time for a small value
   * when every value is a new Buffer, as the replies read from a socket are (views of the chunk they came
   * in). Decoded through the chunk's Buffer, that is done once a chunk. msgpackr fails a decode that reads
   * past `end`, so bytes outside the view never make a value.
   */
  #wholeOf(bytes: Buffer): Buffer {
    if (this.#whole === null || this.#whole.buffer !== bytes.buffer) this.#whole = Buffer.from(bytes.buffer);
    return this.#whole;
  }
}

function holdsNeverUsed(value: unknown): boolean {
  if (value === C1) return true;
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return false;
  const children = Array.isArray(value) ? value : value instanceof Map ? [...value.keys(), ...value.values()] : Object.values(value);
  return children.some(holdsNeverUsed);
}

/**
 * JSON as UTF-8 text: readable with `redis-cli`, slower and larger than MessagePack.
 *
 * # Caveats
 * JSON's limits apply: `Date`s come back as strings, `undefined` properties vanish, `BigInt` throws.
 *
 * # Examples
 * ```ts
 * RedisBackend.builder().valueFormat(new JsonFormat());
 * ```
 */
export class JsonFormat implements Format {
  readonly name = 'json';

  serialize(value: unknown): Buffer {
    const text = JSON.stringify(value);
    // JSON.stringify(undefined) and of a function is undefined, which has no bytes to store.
    if (text === undefined) throw new TypeError(`JSON cannot represent a value of type ${typeof value}`);
    return Buffer.from(text, 'utf8');
  }

  deserialize(bytes: Buffer): unknown {
    return JSON.parse(bytes.toString('utf8'));
  }
}

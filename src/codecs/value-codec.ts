import type { CacheKey } from '../core/cache-key.js';
import { CompressionError, FormatError, type ErrorContext, type Operation } from '../core/errors.js';
import type { Compressor } from './compressor.js';
import type { Format } from './value-format.js';

/**
 * The typed layer's way between values and stored bytes: serialize then compress on the way in,
 * decompress then deserialize on the way out, each failure a typed error naming the operation and key.
 */
export class ValueCodec {
  readonly #format: Format;
  readonly #compressor: Compressor;

  constructor(format: Format, compressor: Compressor) {
    this.#format = format;
    this.#compressor = compressor;
  }

  /** The bytes to store for `data`; throws `FormatError` or `CompressionError`. */
  encode(data: unknown, operation: Operation, key: CacheKey): Buffer {
    let bytes: Buffer;
    try {
      bytes = this.#format.serialize(data);
    } catch (error) {
      throw new FormatError(`${this.#format.name} could not serialize the value`, context(operation, key), { cause: error });
    }
    try {
      return this.#compressor.compress(bytes);
    } catch (error) {
      throw new CompressionError(`${this.#compressor.name} could not compress the value`, context(operation, key), { cause: error });
    }
  }

  /** The value stored as `stored`; throws `CompressionError` or `FormatError`. */
  decode<T>(stored: Buffer, operation: Operation, key: CacheKey): T {
    let bytes: Buffer;
    try {
      bytes = this.#compressor.decompress(stored);
    } catch (error) {
      throw new CompressionError(`${this.#compressor.name} could not decompress the stored bytes`, context(operation, key), { cause: error });
    }
    try {
      return this.#format.deserialize(bytes) as T;
    } catch (error) {
      throw new FormatError(`the stored bytes are not valid ${this.#format.name}`, context(operation, key), { cause: error });
    }
  }
}

// Rendering the key costs an encoding: only a failure pays it.
function context(operation: Operation, key: CacheKey): ErrorContext {
  return { operation, key: key.toString() };
}

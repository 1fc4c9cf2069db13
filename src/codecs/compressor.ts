import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';

import { ConfigurationError } from '../core/errors.js';

/**
 * Compresses values before they are stored and decompresses them when read. Implement it for a codec of
 * your own. Errors it throws reach the caller as `CompressionError`, with the key.
 *
 * # Caveats
 * Calls are synchronous, on the event loop: for values of many kilobytes prefer fast levels.
 */
export interface Compressor {
  /** Stable name, for logs and diagnostics. */
  readonly name: string;
  /** Compresses `data`, the serialized value, into the bytes stored in Redis. */
  compress(data: Buffer): Buffer;
  /**
   * Restores the serialized value from the stored bytes.
   *
   * # Caveats
   * The bytes come from Redis and may be anything (another writer, another compressor): throw on a frame
   * that is not valid rather than return garbage.
   */
  decompress(data: Buffer): Buffer;
}

/** Refuses a level the codec would reject or silently clamp at the first write, naming the valid range. */
function checkLevel(what: string, level: number, min: number, max: number, note = ''): number {
  if (!Number.isInteger(level) || level < min || level > max) {
    throw new ConfigurationError(`${what} must be an integer from ${min} to ${max}${note}, got ${String(level)}`);
  }
  return level;
}

/**
 * Stores bytes as they are.
 *
 * # Default
 * The default compressor.
 */
export class PassthroughCompressor implements Compressor {
  readonly name = 'passthrough';

  compress(data: Buffer): Buffer {
    return data;
  }

  decompress(data: Buffer): Buffer {
    return data;
  }
}

/**
 * gzip (RFC 1952) via Node's zlib.
 *
 * # Default
 * Level 6. Levels go from -1 (zlib's default, 6) to 9; another throws a `ConfigurationError`.
 *
 * # Examples
 * ```ts
 * RedisBackend.builder().compressor(new GzipCompressor(1));
 * ```
 */
export class GzipCompressor implements Compressor {
  readonly name = 'gzip';
  readonly #options: zlib.ZlibOptions;

  /**
   * A gzip compressor at `level`; throws `ConfigurationError` for a level outside -1 to 9.
   *
   * @param level The zlib level: 1 is fastest, 9 smallest, -1 zlib's default (6).
   */
  constructor(readonly level = 6) {
    this.#options = { level: checkLevel('GzipCompressor level', level, -1, 9, " (-1: zlib's default, 6)") };
  }

  compress(data: Buffer): Buffer {
    return zlib.gzipSync(data, this.#options);
  }

  decompress(data: Buffer): Buffer {
    return zlib.gunzipSync(data);
  }
}

/**
 * Brotli via Node's zlib.
 *
 * # Default
 * Quality 4: Brotli's own default (11) is far too slow for a cache on the request path. Qualities go from 0
 * to 11; another throws a `ConfigurationError`.
 *
 * # Examples
 * ```ts
 * RedisBackend.builder().compressor(new BrotliCompressor(5));
 * ```
 */
export class BrotliCompressor implements Compressor {
  readonly name = 'brotli';
  readonly #options: zlib.BrotliOptions;

  /**
   * A Brotli compressor at `quality`; throws `ConfigurationError` for a quality outside 0 to 11.
   *
   * @param quality The Brotli quality: 0 is fastest, 11 smallest.
   */
  constructor(readonly quality = 4) {
    checkLevel('BrotliCompressor quality', quality, zlib.constants.BROTLI_MIN_QUALITY, zlib.constants.BROTLI_MAX_QUALITY);
    this.#options = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality } };
  }

  compress(data: Buffer): Buffer {
    return zlib.brotliCompressSync(data, this.#options);
  }

  decompress(data: Buffer): Buffer {
    return zlib.brotliDecompressSync(data);
  }
}

interface ZstdCodec {
  compress(data: Buffer, level: number): Buffer;
  decompress(data: Buffer): Buffer;
}

// Node's zlib has zstd from 22.15 on; older Node needs the optional native package.
type ZlibWithZstd = typeof zlib & {
  zstdCompressSync?: (data: Buffer, options: { params: Record<number, number> }) => Buffer;
  zstdDecompressSync?: (data: Buffer) => Buffer;
  constants: { ZSTD_c_compressionLevel?: number };
};

function loadZstd(): ZstdCodec {
  const z = zlib as ZlibWithZstd;
  const levelParam = z.constants.ZSTD_c_compressionLevel;
  if (z.zstdCompressSync && z.zstdDecompressSync && levelParam !== undefined) {
    const compress = z.zstdCompressSync;
    return {
      compress: (data, level) => compress(data, { params: { [levelParam]: level } }),
      decompress: z.zstdDecompressSync,
    };
  }
  try {
    const napi = createRequire(import.meta.url)('zstd-napi') as {
      compress(data: Buffer, params: { compressionLevel: number }): Buffer;
      decompress(data: Buffer): Buffer;
    };
    return {
      compress: (data, level) => napi.compress(data, { compressionLevel: level }),
      decompress: (data) => napi.decompress(data),
    };
  } catch (error) {
    throw new ConfigurationError(
      `ZstdCompressor needs zstd, which Node.js ${process.versions.node}'s zlib lacks (it has it from 22.15): ` +
        'install the optional package zstd-napi (npm install zstd-napi)',
      undefined,
      { cause: error },
    );
  }
}

let zstd: ZstdCodec | undefined;

/** zstd's `ZSTD_minCLevel()` and `ZSTD_maxCLevel()` (1.5); zstd itself clamps other levels silently. */
const ZSTD_MIN_LEVEL = -131072;
const ZSTD_MAX_LEVEL = 22;

/**
 * Zstandard: writes standard zstd frames (magic `28 B5 2F FD`), readable by any zstd tool.
 * Uses Node's zlib where it has zstd (Node.js 22.15 and later), else the optional package `zstd-napi`.
 *
 * # Default
 * Level 3. Levels go from -131072 (fastest) to 22 (zstd's own range; 0 means its default, 3); another
 * throws a `ConfigurationError`.
 *
 * # Caveats
 * On Node.js older than 22.15 without `zstd-napi` installed, the constructor throws a
 * `ConfigurationError` that says to `npm install zstd-napi`.
 *
 * # Examples
 * ```ts
 * RedisBackend.builder().compressor(new ZstdCompressor(1));
 * ```
 */
export class ZstdCompressor implements Compressor {
  readonly name = 'zstd';
  readonly #codec: ZstdCodec;

  /**
   * A zstd compressor at `level`; throws `ConfigurationError` for a level outside -131072 to 22, or when
   * no zstd is available (see Caveats above).
   *
   * @param level The zstd level: negative levels are fastest, 22 smallest, 0 zstd's default (3).
   */
  constructor(readonly level = 3) {
    checkLevel('ZstdCompressor level', level, ZSTD_MIN_LEVEL, ZSTD_MAX_LEVEL, " (0: zstd's default, 3)");
    this.#codec = zstd ??= loadZstd();
  }

  compress(data: Buffer): Buffer {
    return this.#codec.compress(data, this.level);
  }

  decompress(data: Buffer): Buffer {
    return this.#codec.decompress(data);
  }
}

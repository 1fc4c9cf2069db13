/**
 * redis-lua-cache: a Redis cache backend whose every storage operation is an atomic Lua script.
 *
 * # Examples
 * ```ts
 * import { CacheKey, CacheValue, ConnectionMode, RedisBackend } from 'redis-lua-cache';
 *
 * const backend = RedisBackend.builder().connection(ConnectionMode.single('redis://localhost:6379')).build();
 * const key = new CacheKey('api', 1, [{ key: 'path', value: '/users/123' }]);
 * await backend.set(key, new CacheValue({ id: 123 }, new Date(Date.now() + 60_000)));
 * console.log(await backend.get(key));
 * await backend.close();
 * ```
 *
 * @module redis-lua-cache
 */
export { RedisBackend, type DeleteStatus } from './backend/backend.js';
export { DEFAULT_LOCK_TIMEOUT, type Factory, type FactoryContext, type GetOrSetOptions } from './cache/options.js';
export type { ErrorListener } from './cache/get-or-set.js';
export { MAX_TAGS, type WriteOptions } from './cache/tags.js';
export type { DriverName } from './driver/driver.js';
export { RedisBackendBuilder, MAX_VALUE_BYTES } from './backend/builder.js';
export { CacheKey, type KeyPart } from './core/cache-key.js';
export { CacheValue, type CacheState } from './core/cache-value.js';
export {
  BrotliCompressor,
  GzipCompressor,
  PassthroughCompressor,
  ZstdCompressor,
  type Compressor,
} from './codecs/compressor.js';
export { ConnectionMode, SingleConnectionMode, ClusterConnectionMode } from './driver/connection-mode.js';
export {
  AuthenticationError,
  BackendError,
  CompressionError,
  ConfigurationError,
  ConnectionError,
  FactoryError,
  FactoryTimeoutError,
  ForeignDataError,
  FormatError,
  InvalidKeyError,
  InvalidOptionError,
  InvalidValueError,
  MissingConnectionModeError,
  ScriptError,
  TimeoutError,
  type BackendErrorCode,
  type ErrorContext,
  type Operation,
} from './core/errors.js';
export { JsonFormat, MsgpackFormat, type Format } from './codecs/value-format.js';
export { IoredisScriptRunner, type IoredisClient, type IoredisScriptRunnerOptions } from './ioredis/runner.js';
export { CacheKeyFormat } from './codecs/key-format.js';
export type { RedisKey, ScriptArgument, ScriptDefinition, ScriptRunner } from './core/scripting.js';
export { allScripts } from '../generated/index.js';
export {
  FACTORY_CHANNEL,
  GET_OR_SET_CHANNEL,
  LEASE_WAIT_CHANNEL,
  OPERATION_CHANNEL,
  type BackendInfo,
  type FactoryMessage,
  type GetOrSetLookupMessage,
  type LeaseWaitMessage,
  type LeaseWaitOutcome,
  type LookupResult,
  type OperationMessage,
  type TracedOperation,
} from './core/diagnostics.js';

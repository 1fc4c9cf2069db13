/**
 * Every error the backend throws is a {@link BackendError}; its `code` names the subclass, so a
 * `switch (error.code)` over {@link BackendErrorCode} is exhaustive.
 *
 * Messages say what failed and for which key (rendered readably, long keys shortened), and never
 * contain a password: URLs are redacted before they reach a message.
 *
 * @module
 */

/** The operation an error happened in. `connect` is the lazy connection opened by the first operation. */
export type Operation =
  | 'read'
  | 'write'
  | 'remove'
  | 'get'
  | 'set'
  | 'delete'
  | 'readMany'
  | 'writeMany'
  | 'removeMany'
  | 'getMany'
  | 'setMany'
  | 'deleteMany'
  | 'getOrSet'
  | 'invalidateTags'
  | 'run'
  | 'scan'
  | 'connect';

/** Discriminant of every concrete {@link BackendError} subclass. */
export type BackendErrorCode =
  | 'CONNECTION'
  | 'AUTHENTICATION'
  | 'TIMEOUT'
  | 'FORMAT'
  | 'COMPRESSION'
  | 'SCRIPT'
  | 'FOREIGN_DATA'
  | 'INVALID_KEY'
  | 'INVALID_VALUE'
  | 'INVALID_OPTION'
  | 'FACTORY'
  | 'FACTORY_TIMEOUT'
  | 'CONFIGURATION'
  | 'MISSING_CONNECTION_MODE';

/**
 * Where an error happened: the operation, the key when there is one (already rendered), and for
 * `run` the name of the script.
 */
export interface ErrorContext {
  /** The operation that failed; it becomes {@link BackendError.operation}. */
  readonly operation: Operation;
  /** The key, already rendered (see `CacheKey.toString`); absent for an operation without one, such as `connect`. */
  readonly key?: string;
  /** For `run`: the name of the script ({@link ScriptDefinition.name}). */
  readonly script?: string;
}

const MAX_RENDERED_KEY = 200;

/**
 * Renders a key for a message: as is up to 200 characters, then shortened with its full length noted,
 * so that a megabyte-long key cannot flood a log.
 */
export function renderKey(key: string): string {
  return key.length <= MAX_RENDERED_KEY ? key : `${key.slice(0, MAX_RENDERED_KEY)}… (${key.length} chars)`;
}

function describe(context: ErrorContext | undefined, reason: string): string {
  if (context === undefined) return reason;
  const what = context.script === undefined ? context.operation : `${context.operation} of script ${context.script}`;
  const where = context.key === undefined ? what : `${what} ${context.script === undefined ? 'of' : 'on'} key ${renderKey(context.key)}`;
  return `${where} failed: ${reason}`;
}

/**
 * Base class of every error the backend throws.
 *
 * # Examples
 * ```ts
 * try { await backend.read(key); } catch (error) {
 *   if (error instanceof BackendError && error.code === 'TIMEOUT') metrics.cacheTimeouts++;
 * }
 * ```
 */
export abstract class BackendError extends Error {
  /** Which subclass this is. */
  abstract readonly code: BackendErrorCode;
  /** The operation that failed, when the error comes from one. */
  readonly operation: Operation | undefined;
  /** The key the operation was for, rendered readably (see `CacheKey.toString`); for `run`, its first key. */
  readonly key: string | undefined;
  /** For `run`, the name of the script that failed. */
  readonly script: string | undefined;
  /** Why it failed, without the operation and key prefix. */
  readonly reason: string;

  /**
   * Builds the message from `context` and `reason`: `<operation> of key <key> failed: <reason>`, or the
   * reason alone without a context. The key is shortened past 200 characters.
   *
   * # Caveats
   * `reason` goes into the message as it is: it must not hold a password.
   *
   * # Examples
   * ```ts
   * new ForeignDataError('key holds a list, not a cache entry', { operation: 'read', key: String(key) });
   * ```
   */
  constructor(reason: string, context?: ErrorContext, options?: { cause?: unknown }) {
    super(describe(context, reason), options);
    this.name = new.target.name;
    this.reason = reason;
    this.operation = context?.operation;
    this.key = context?.key;
    this.script = context?.script;
  }
}

/**
 * Redis could not be reached, the connection was lost while the operation was in flight, or the backend
 * is closed. The operation's effect on Redis is unknown only for a write lost in flight.
 */
export class ConnectionError extends BackendError {
  readonly code: 'CONNECTION' | 'AUTHENTICATION' = 'CONNECTION';
}

/** Redis refused the credentials (wrong user or password, or a user that is disabled). */
export class AuthenticationError extends ConnectionError {
  override readonly code = 'AUTHENTICATION' as const;
}

/**
 * Redis did not answer within the response timeout.
 *
 * # Caveats
 * The command may still run on the server after the caller gave up: a timed-out write may or may not
 * have been applied (it is then applied whole, never half).
 */
export class TimeoutError extends BackendError {
  readonly code = 'TIMEOUT' as const;
}

/** The value format could not serialize a value, or the stored bytes are not valid for it. */
export class FormatError extends BackendError {
  readonly code = 'FORMAT' as const;
}

/** The compressor could not compress a value, or the stored bytes are not a valid frame for it. */
export class CompressionError extends BackendError {
  readonly code = 'COMPRESSION' as const;
}

// What the two refusals a user meets most often mean for the entry.
function hint(serverMessage: string): string {
  if (serverMessage.startsWith('OOM')) return ' (Redis is at maxmemory and refuses writes; nothing was written)';
  if (/^NOPERM|can't run this command|can't access at least one of the keys/.test(serverMessage)) return ' (the Redis user lacks a permission; see the minimal ACL rule in the README)';
  return '';
}

/**
 * Redis refused to run a script or the script failed: out of memory (`OOM`), no permission (`NOPERM`),
 * a bad argument, or an unexpected reply. `serverMessage` holds the server's own words.
 */
export class ScriptError extends BackendError {
  readonly code = 'SCRIPT' as const;
  /** The error reply as the server sent it. */
  readonly serverMessage: string;

  /** The reason is `Redis replied with an error: <serverMessage>`, with a hint for `OOM` and `NOPERM`. */
  constructor(serverMessage: string, context?: ErrorContext, options?: { cause?: unknown }) {
    super(`Redis replied with an error: ${serverMessage}${hint(serverMessage)}`, context, options);
    this.serverMessage = serverMessage;
  }
}

/**
 * The key holds something that is not a cache entry: another Redis type, or a hash without field `d`.
 * The backend never reads, overwrites or deletes such data; the key is left as it was.
 */
export class ForeignDataError extends BackendError {
  readonly code = 'FOREIGN_DATA' as const;
}

/** A cache key that cannot be encoded: a version that is not a 32-bit unsigned integer, or malformed text. */
export class InvalidKeyError extends BackendError {
  readonly code = 'INVALID_KEY' as const;
}

/** A value that cannot be stored: data that is not bytes, an invalid date, or data larger than Redis accepts. */
export class InvalidValueError extends BackendError {
  readonly code = 'INVALID_VALUE' as const;
}

/**
 * An option of an operation that is not valid, such as a `getOrSet` `ttl` that is not a positive integer.
 * Thrown before anything is sent.
 */
export class InvalidOptionError extends BackendError {
  readonly code = 'INVALID_OPTION' as const;
}

/**
 * A `getOrSet` factory failed where no caller could be given its error: while refreshing a stale entry
 * in the background. The stale value goes on being served until the entry expires. `cause` holds the
 * factory's own error. It reaches the backend's error listener (see `RedisBackendBuilder.onError`), never
 * a caller: a factory that fails with nothing cached rejects the `getOrSet` with its own error.
 */
export class FactoryError extends BackendError {
  readonly code = 'FACTORY' as const;
}

/**
 * A `getOrSet` had no value within its `hardTimeout`. The factory is not stopped: when it finishes, its
 * value is stored (if its lease still stands) for the callers that come next.
 */
export class FactoryTimeoutError extends BackendError {
  readonly code = 'FACTORY_TIMEOUT' as const;
}

/** A builder option or connection URL that is not valid. Thrown synchronously, before anything connects. */
export class ConfigurationError extends BackendError {
  readonly code: 'CONFIGURATION' | 'MISSING_CONNECTION_MODE' = 'CONFIGURATION';
}

/** `build()` was called with neither `.connection(mode)` nor `.client(existing)`. */
export class MissingConnectionModeError extends ConfigurationError {
  override readonly code = 'MISSING_CONNECTION_MODE' as const;

  /** The message says to call `.connection(...)` or `.client(...)` before `.build()`. */
  constructor() {
    super('no connection: call .connection(ConnectionMode.single(url)) or .client(existingClient) before .build()');
  }
}

/**
 * The typed errors every driver produces for the same failures, so that both drivers say the same thing.
 * A driver recognises its client's errors; this module words them.
 *
 * @module
 */
import {
  AuthenticationError,
  type BackendError,
  ConnectionError,
  ForeignDataError,
  ScriptError,
  TimeoutError,
  type ErrorContext,
} from '../core/errors.js';

/**
 * Why the lazy connection could not be opened, or why a call waiting for it was not sent. A driver
 * throws it; {@link connectionFailure} turns it into a `ConnectionError` or `AuthenticationError` that
 * also names the operation and key that needed the connection.
 */
export class ConnectFailure extends Error {
  constructor(
    readonly reason: string,
    readonly authentication = false,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }

  /**
   * Describes `detail` (the client's own words on why it could not connect, free of credentials) for the
   * redacted address `where`. The cause kept is a plain error with that text only.
   */
  static describe(detail: string, where: string, timeoutMs: number): ConnectFailure {
    const cause = new Error(detail);
    if (isAuthenticationReply(detail)) {
      return new ConnectFailure(`${where} refused the credentials: ${detail}`, true, { cause });
    }
    const why = detail.startsWith('no connection within') ? `no connection within ${timeoutMs} ms` : detail;
    return new ConnectFailure(`could not connect to ${where}: ${why}`, false, { cause });
  }
}

/** Whether a server reply (or a client's text quoting one) says the credentials were refused. */
export function isAuthenticationReply(message: string): boolean {
  return /\b(WRONGPASS|NOAUTH)\b|invalid password/.test(message);
}

// Prefixes the scripts put on their own error replies.
const FOREIGN_DATA = 'FOREIGN_DATA ';

/**
 * An error reply the server gave one key of a many-key script call that merged single-key calls (see
 * `MergingDriver`): the driver maps it as {@link replyFailure} maps the error reply of the call alone.
 */
export class InlineReplyError extends Error {
  override readonly name = 'InlineReplyError';
}

/** The error for a {@link ConnectFailure}. */
export function connectionFailure(failure: ConnectFailure, context: ErrorContext): BackendError {
  return failure.authentication
    ? new AuthenticationError(failure.reason, context, { cause: failure.cause })
    : new ConnectionError(failure.reason, context, { cause: failure.cause });
}

/**
 * The error for an error reply of the server to a script call: `message` is the server's own words.
 * `CLUSTERDOWN` (a cluster between a primary's death and its replica's promotion) means the call did not
 * run for want of a node, as when a connection is down: a `ConnectionError`, on every driver.
 */
export function replyFailure(message: string, context: ErrorContext, cause: unknown): BackendError {
  if (message.startsWith('CLUSTERDOWN ')) return new ConnectionError(`the cluster cannot serve the key now: ${message}`, context, { cause });
  if (message.startsWith(FOREIGN_DATA)) {
    return new ForeignDataError(`${message.slice(FOREIGN_DATA.length)}; it was left untouched`, context, { cause });
  }
  if (isAuthenticationReply(message)) return new AuthenticationError(`Redis refused the credentials: ${message}`, context, { cause });
  return new ScriptError(message, context, { cause });
}

/** The error for a call that got no reply within the response timeout. */
export function timeoutFailure(context: ErrorContext, cause: unknown): BackendError {
  return new TimeoutError('no reply within the response timeout', context, { cause });
}

/** The error for a call whose connection failed under it; `message` says how, without credentials. */
export function lostConnectionFailure(message: string, context: ErrorContext, cause: unknown): BackendError {
  return new ConnectionError(`the connection failed: ${message}`, context, { cause });
}

import type { CacheKey } from '../core/cache-key.js';
import {
  AuthenticationError,
  BackendError,
  ConnectionError,
  ForeignDataError,
  ScriptError,
  TimeoutError,
  type ErrorContext,
  type Operation,
} from '../core/errors.js';

/**
 * Why the lazy connection could not be opened. Internal: {@link toBackendError} turns it into a
 * `ConnectionError` or `AuthenticationError` that also names the operation and key that needed it.
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
   * Describes `error` (the client's last connection error) for the redacted address `where`. The cause
   * kept is a plain copy of the message: the client's own error objects carry the AUTH command and its
   * arguments, the password among them.
   */
  static from(error: unknown, where: string, timeoutMs: number): ConnectFailure {
    // A cluster client wraps the reason the last seed node failed in a generic "Failed to refresh slots cache".
    const nodeError = (error as { lastNodeError?: unknown } | null)?.lastNodeError;
    const message = error instanceof Error ? error.message : String(error);
    const detail = nodeError instanceof Error ? `${message} (${nodeError.message})` : message;
    const cause = new Error(detail);
    if (isAuthenticationReply(detail)) {
      return new ConnectFailure(`${where} refused the credentials: ${detail}`, true, { cause });
    }
    const why = detail.startsWith('no connection within') ? `no connection within ${timeoutMs} ms` : detail;
    return new ConnectFailure(`could not connect to ${where}: ${why}`, false, { cause });
  }
}

function isAuthenticationReply(message: string): boolean {
  return /\b(WRONGPASS|NOAUTH)\b|invalid password/.test(message);
}

/** The error itself, or a message-only copy when it carries an AUTH or HELLO command (and so a password). */
function credentialFree(error: Error): Error {
  const command = (error as { command?: { name?: unknown } }).command;
  if (command === undefined || !/^(auth|hello)$/i.test(String(command.name))) return error;
  const copy = new Error(error.message);
  copy.name = error.name;
  return copy;
}

// Prefixes the scripts put on their own error replies.
const FOREIGN_DATA = 'FOREIGN_DATA ';

/**
 * Maps whatever an operation threw to the matching {@link BackendError}, naming `operation` and `key`.
 * Runs only on failures, so it may take its time to be precise.
 */
export function toBackendError(error: unknown, operation: Operation, key: CacheKey): BackendError {
  if (error instanceof BackendError) return error;
  const context: ErrorContext = { operation, key: key.toString() };
  if (error instanceof ConnectFailure) {
    return error.authentication
      ? new AuthenticationError(error.reason, context, { cause: error.cause })
      : new ConnectionError(error.reason, context, { cause: error.cause });
  }
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error ? credentialFree(error) : error;
  if (error instanceof Error && error.name === 'ReplyError') {
    if (message.startsWith(FOREIGN_DATA)) {
      return new ForeignDataError(`${message.slice(FOREIGN_DATA.length)}; it was left untouched`, context, { cause });
    }
    if (isAuthenticationReply(message)) return new AuthenticationError(`Redis refused the credentials: ${message}`, context, { cause });
    return new ScriptError(message, context, { cause });
  }
  if (message === 'Command timed out') {
    return new TimeoutError('no reply within the response timeout', context, { cause });
  }
  return new ConnectionError(`the connection failed: ${message}`, context, { cause });
}

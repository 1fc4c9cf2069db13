/**
 * What ioredis' failures mean, in the backend's typed errors.
 *
 * @module
 */
import { BackendError, type ErrorContext } from '../core/errors.js';
import {
  ConnectFailure,
  connectionFailure,
  InlineReplyError,
  lostConnectionFailure,
  replyFailure,
  timeoutFailure,
} from '../driver/failures.js';
import { lastNodeErrorOf, TEXTS } from './internals.js';

/** The error itself, or a message-only copy when it carries an AUTH or HELLO command (and so a password). */
function credentialFree(error: Error): Error {
  const command = (error as { command?: { name?: unknown } }).command;
  if (command === undefined || !/^(auth|hello)$/i.test(String(command.name))) return error;
  const copy = new Error(error.message);
  copy.name = error.name;
  return copy;
}

/**
 * Why ioredis could not connect to `where`: its last connection error, with the reason a cluster client
 * wraps in "Failed to refresh slots cache" when there is one.
 */
export function connectFailureOf(error: unknown, where: string, timeoutMs: number): ConnectFailure {
  const message = error instanceof Error ? error.message : String(error);
  const nodeError = lastNodeErrorOf(error);
  return ConnectFailure.describe(nodeError === undefined ? message : `${message} (${nodeError.message})`, where, timeoutMs);
}

/**
 * Maps whatever an ioredis call threw to the matching typed error, naming `context`. Runs only on
 * failures, so it may take its time to be precise.
 */
export function toBackendError(error: unknown, context: ErrorContext): BackendError {
  if (error instanceof BackendError) return error;
  if (error instanceof ConnectFailure) return connectionFailure(error, context);
  if (error instanceof InlineReplyError) return replyFailure(error.message, context, error);
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error ? credentialFree(error) : error;
  if (error instanceof Error && error.name === 'ReplyError') return replyFailure(message, context, cause);
  if (message === TEXTS.timedOut) return timeoutFailure(context, cause);
  return lostConnectionFailure(message, context, cause);
}

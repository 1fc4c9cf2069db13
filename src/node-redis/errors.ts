/**
 * What node-redis' failures mean, in the backend's typed errors.
 *
 * @module
 */
import { ErrorReply } from '@redis/client';

import { BackendError, type ErrorContext } from '../core/errors.js';
import { ConnectFailure, connectionFailure, InlineReplyError, lostConnectionFailure, replyFailure, timeoutFailure } from '../driver/failures.js';
import { ResponseTimeout } from './commands.js';

/**
 * Maps whatever a node-redis call threw to the matching typed error, naming `context`. Runs only on
 * failures. node-redis' errors carry no command arguments, so none holds a password.
 */
export function toBackendError(error: unknown, context: ErrorContext): BackendError {
  if (error instanceof BackendError) return error;
  if (error instanceof ConnectFailure) return connectionFailure(error, context);
  if (error instanceof InlineReplyError) return replyFailure(error.message, context, error);
  if (error instanceof ResponseTimeout) return timeoutFailure(context, error);
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ErrorReply) return replyFailure(message, context, error);
  return lostConnectionFailure(message, context, error);
}

// A cluster that lost a primary answers CLUSTERDOWN until a replica takes over: its slot map is stale.
function isClusterDown(error: ErrorReply): boolean {
  return error.message.startsWith('CLUSTERDOWN ');
}

/** Whether a failure means a connection was lost or is not there: on a cluster, the slot map may be stale. */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof ErrorReply) return isClusterDown(error);
  return !(error instanceof ResponseTimeout || error instanceof BackendError);
}

import { ScriptError } from '../../core/errors.js';

/**
 * `error.type`, low in cardinality: a `BackendError`'s `code` (`FOREIGN_DATA`, `TIMEOUT`), or for another
 * error (a factory's) its `code` if it has a string one, else its class name (`TypeError`): the rule by
 * which the SDK names the exception it records.
 */
export function errorType(error: unknown): string {
  if (!(error instanceof Error)) return '_OTHER';
  const { code } = error as { code?: unknown };
  return typeof code === 'string' ? code : error.name;
}

/** `db.response.status_code`: the Redis error prefix (`OOM`, `NOPERM`, `ERR`) of an error reply, if the failure is one. */
export function responseStatusCode(error: unknown): string | undefined {
  return error instanceof ScriptError ? /^[A-Z][A-Z_]*(?=\s|$)/.exec(error.serverMessage)?.[0] : undefined;
}

/** The message of a failure for a span status: its own for an Error (the library's never hold a credential). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

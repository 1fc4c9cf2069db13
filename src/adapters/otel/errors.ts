import { ScriptError } from '../../core/errors.js';

/** `error.type`: the error's class name (`ForeignDataError`, `TimeoutError`, a factory's `TypeError`), low in cardinality. */
export function errorType(error: unknown): string {
  return error instanceof Error ? error.name : '_OTHER';
}

/** `db.response.status_code`: the Redis error prefix (`OOM`, `NOPERM`, `ERR`) of an error reply, if the failure is one. */
export function responseStatusCode(error: unknown): string | undefined {
  return error instanceof ScriptError ? /^[A-Z][A-Z_]*(?=\s|$)/.exec(error.serverMessage)?.[0] : undefined;
}

/** The message of a failure for a span status: its own for an Error (the library's never hold a credential). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

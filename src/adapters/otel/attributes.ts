import type { Attributes } from '@opentelemetry/api';

import type { BackendInfo, LookupResult } from '../../core/diagnostics.js';
import { ATTR } from './names.js';

const byBackend = new WeakMap<BackendInfo, Attributes>();
const byOperation = new WeakMap<BackendInfo, Map<string, OperationAttributes>>();

/**
 * What every span and operation metric of a backend carries: `db.system.name`, its server (from its URL,
 * never its credentials), its database index and its label. Built once per backend.
 */
export function backendAttributes(info: BackendInfo): Attributes {
  let attributes = byBackend.get(info);
  if (attributes === undefined) {
    attributes = Object.freeze({
      [ATTR.dbSystemName]: 'redis',
      [ATTR.label]: info.label,
      ...(info.serverAddress === undefined ? {} : { [ATTR.serverAddress]: info.serverAddress }),
      ...(info.serverPort === undefined ? {} : { [ATTR.serverPort]: info.serverPort }),
      ...(info.database === undefined ? {} : { [ATTR.dbNamespace]: String(info.database) }),
    });
    byBackend.set(info, attributes);
  }
  return attributes;
}

/** The attributes of a `redis_lua_cache.lookups` count. */
export function lookupAttributes(info: BackendInfo, operation: string, result: LookupResult): Attributes {
  return { [ATTR.label]: info.label, [ATTR.dbOperationName]: operation, [ATTR.lookupResult]: result };
}

/** The span name and attributes of an operation, the same for every call of it on one backend. */
export interface OperationAttributes {
  readonly spanName: string;
  readonly attributes: Attributes;
}

/**
 * The span name (low in cardinality: the operation, and for `run` the application's script) and the
 * attributes of an operation of a backend, built once per backend, operation and script.
 */
export function operationAttributes(info: BackendInfo, operation: string, script: string | undefined): OperationAttributes {
  let operations = byOperation.get(info);
  if (operations === undefined) byOperation.set(info, (operations = new Map()));
  const spanName = script === undefined ? operation : `${operation} ${script}`;
  let found = operations.get(spanName);
  if (found === undefined) {
    const attributes = Object.freeze({
      ...backendAttributes(info),
      [ATTR.dbOperationName]: operation,
      [ATTR.dbQuerySummary]: spanName,
      ...(script === undefined ? {} : { [ATTR.dbStoredProcedureName]: script }),
    });
    operations.set(spanName, (found = { spanName, attributes }));
  }
  return found;
}

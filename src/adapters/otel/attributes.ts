import type { Attributes } from '@opentelemetry/api';

import type { BackendInfo, LookupResult } from '../../core/diagnostics.js';
import { ATTR } from './names.js';

const byBackend = new WeakMap<BackendInfo, Attributes>();

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

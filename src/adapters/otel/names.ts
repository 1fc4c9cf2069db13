/**
 * The names `redis-lua-cache/otel` reports under: the OpenTelemetry database semantic conventions where
 * they say something (Redis client spans, `db.client.operation.duration`), the `redis_lua_cache.`
 * namespace for what is the cache's own.
 *
 * @module
 */

/** The instrumentation scope (tracer and meter name) everything is reported under: `redis-lua-cache`. */
export const INSTRUMENTATION_SCOPE = 'redis-lua-cache';

/**
 * Span and metric attribute names (the README's OpenTelemetry section says which carries what).
 *
 * # Examples
 * ```ts
 * // Only the label and the result on the lookup counter, with an SDK View:
 * new MeterProvider({ views: [{ instrumentName: METRIC.lookups, attributesProcessors: [createAllowListAttributesProcessor([ATTR.label, ATTR.lookupResult])] }] });
 * ```
 */
export const ATTR = Object.freeze({
  /** `db.system.name`: always `redis`. */
  dbSystemName: 'db.system.name',
  /** `db.namespace`: the database index, on a single node only. */
  dbNamespace: 'db.namespace',
  /** `db.operation.name`: the backend operation (`get`, `getOrSet`, `run`, ...). */
  dbOperationName: 'db.operation.name',
  /** `db.query.summary`: the operation, with the script's name for `run`. */
  dbQuerySummary: 'db.query.summary',
  /** `db.stored_procedure.name`: the application script's name, on `run`. */
  dbStoredProcedureName: 'db.stored_procedure.name',
  /** `db.operation.batch.size`: how many keys a many-key operation had, when 2 or more. */
  dbOperationBatchSize: 'db.operation.batch.size',
  /** `db.response.status_code`: the prefix of a Redis error reply (`NOSCRIPT`, `FOREIGN_DATA`, ...). */
  dbResponseStatusCode: 'db.response.status_code',
  /** `error.type`: the `BackendError` code of a failure, or the error's class name. */
  errorType: 'error.type',
  /** `server.address`: the host of the single node, or of a cluster's first seed. */
  serverAddress: 'server.address',
  /** `server.port`: the port that goes with `server.address`. */
  serverPort: 'server.port',
  /** `redis_lua_cache.label`: the backend's label (`RedisBackendBuilder.label`). */
  label: 'redis_lua_cache.label',
  /** `redis_lua_cache.lookup.result`: `hit`, `miss` or `stale`. */
  lookupResult: 'redis_lua_cache.lookup.result',
  /** `redis_lua_cache.factory.refresh`: whether the factory ran to refresh a stale value in the background. */
  factoryRefresh: 'redis_lua_cache.factory.refresh',
  /** `redis_lua_cache.lease.wait.outcome`: how a wait for another caller's lease ended: `value`, `lease` or `error`. */
  leaseWaitOutcome: 'redis_lua_cache.lease.wait.outcome',
});

/**
 * Metric names: `db.client.operation.duration` (s), `redis_lua_cache.lookups` ({lookup}),
 * `redis_lua_cache.factory.duration` (s), `redis_lua_cache.lease.wait.duration` (s).
 *
 * # Examples
 * ```ts
 * // Other buckets for the factory durations, with an SDK View:
 * new MeterProvider({ views: [{ instrumentName: METRIC.factoryDuration, aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [0.1, 1, 10, 60] } } }] });
 * ```
 */
export const METRIC = Object.freeze({
  /** `db.client.operation.duration`, seconds: how long each backend operation took. */
  operationDuration: 'db.client.operation.duration',
  /** `redis_lua_cache.lookups`, `{lookup}`: reads and `getOrSet` lookups, by result. */
  lookups: 'redis_lua_cache.lookups',
  /** `redis_lua_cache.factory.duration`, seconds: how long each `getOrSet` factory ran. */
  factoryDuration: 'redis_lua_cache.factory.duration',
  /** `redis_lua_cache.lease.wait.duration`, seconds: how long callers waited for another caller's lease. */
  leaseWaitDuration: 'redis_lua_cache.lease.wait.duration',
});

/** The semantic conventions' advice for `db.client.operation.duration`, in seconds. */
export const OPERATION_BUCKETS: readonly number[] = Object.freeze([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]);

/** Factories and lease waits run longer than a Redis call: the HTTP duration boundaries, in seconds. */
export const WAIT_BUCKETS: readonly number[] = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);

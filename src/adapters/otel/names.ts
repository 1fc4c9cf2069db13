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
  dbSystemName: 'db.system.name',
  dbNamespace: 'db.namespace',
  dbOperationName: 'db.operation.name',
  dbQuerySummary: 'db.query.summary',
  dbStoredProcedureName: 'db.stored_procedure.name',
  dbOperationBatchSize: 'db.operation.batch.size',
  dbResponseStatusCode: 'db.response.status_code',
  errorType: 'error.type',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  label: 'redis_lua_cache.label',
  lookupResult: 'redis_lua_cache.lookup.result',
  factoryRefresh: 'redis_lua_cache.factory.refresh',
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
  operationDuration: 'db.client.operation.duration',
  lookups: 'redis_lua_cache.lookups',
  factoryDuration: 'redis_lua_cache.factory.duration',
  leaseWaitDuration: 'redis_lua_cache.lease.wait.duration',
});

/** The semantic conventions' advice for `db.client.operation.duration`, in seconds. */
export const OPERATION_BUCKETS: readonly number[] = Object.freeze([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]);

/** Factories and lease waits run longer than a Redis call: the HTTP duration boundaries, in seconds. */
export const WAIT_BUCKETS: readonly number[] = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);

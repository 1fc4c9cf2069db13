/**
 * OpenTelemetry for redis-lua-cache: `instrumentRedisLuaCache()` subscribes to the channels every backend
 * publishes on (`node:diagnostics_channel`, see the main module's `OPERATION_CHANNEL` and the others) and
 * reports through the OpenTelemetry API, `@opentelemetry/api` (an optional peer dependency, loaded only by
 * this module).
 *
 * - A CLIENT span per backend operation (raw, typed, many-key, `getOrSet`, `run`, `invalidateTags`), named
 *   after the operation (`get`, `getOrSet`; `run counter_add` for an application script), with
 *   `db.system.name` `redis`, `db.operation.name`, `server.address`/`server.port`, `db.namespace`, the
 *   backend's `redis_lua_cache.label`, and on failure status ERROR, the exception and `error.type`.
 * - Metrics: `db.client.operation.duration` (s), `redis_lua_cache.lookups` (hit / miss / stale of reads and
 *   `getOrSet`), `redis_lua_cache.factory.duration` (s) and `redis_lua_cache.lease.wait.duration` (s).
 *
 * The README lists every attribute and metric.
 *
 * @module redis-lua-cache/otel
 */
import { metrics, trace, type MeterProvider, type TracerProvider } from '@opentelemetry/api';
import { channel, tracingChannel } from 'node:diagnostics_channel';

import {
  FACTORY_CHANNEL,
  GET_OR_SET_CHANNEL,
  LEASE_WAIT_CHANNEL,
  OPERATION_CHANNEL,
  type FactoryMessage,
  type GetOrSetLookupMessage,
  type LeaseWaitMessage,
  type OperationMessage,
} from '../../core/diagnostics.js';
import { CacheRecorder } from './cache-metrics.js';
import { INSTRUMENTATION_SCOPE, METRIC, OPERATION_BUCKETS, WAIT_BUCKETS } from './names.js';
import { callSubscribers, guarded } from './calls.js';
import { OperationRecorder, type Running } from './operations.js';

export { ATTR, METRIC, INSTRUMENTATION_SCOPE } from './names.js';

/** Where {@link instrumentRedisLuaCache} reports. */
export interface InstrumentationOptions {
  /**
   * The tracer provider spans go to.
   *
   * # Default
   * The global one (`trace.getTracerProvider()`): one registered later is used from then on.
   */
  readonly tracerProvider?: TracerProvider;
  /**
   * The meter provider metrics go to.
   *
   * # Default
   * The global one (`metrics.getMeterProvider()`) at the time of the call.
   *
   * # Caveats
   * The global metrics API has no proxy: register the SDK's meter provider before calling
   * {@link instrumentRedisLuaCache}, or metrics go nowhere.
   */
  readonly meterProvider?: MeterProvider;
}

/** A running instrumentation, as {@link instrumentRedisLuaCache} returns it. */
export interface RedisLuaCacheInstrumentation {
  /**
   * Unsubscribes: from now on no backend reports, and the backends' hot path is back to a property check.
   * Safe to call twice; {@link instrumentRedisLuaCache} may be called again afterwards.
   *
   * # Caveats
   * Operations in flight at that moment are not reported: their spans are never ended, so never exported.
   * Call it once the application stopped using its backends (after `close()`).
   */
  stop(): void;
}

let active: RedisLuaCacheInstrumentation | undefined;

/**
 * Makes every backend (built before or after the call) report spans and metrics through OpenTelemetry.
 * Call it once at start-up, after the SDK is set up; it returns a handle to stop reporting.
 *
 * # Default
 * The global tracer and meter providers (see {@link InstrumentationOptions}).
 *
 * # Caveats
 * - Idempotent: while an instrumentation is running, a further call returns it and ignores its options
 *   (so nothing is reported twice); call `stop()` first to report elsewhere.
 * - Spans start in the caller's active context, so they are children of the caller's span. They are not the
 *   parents of spans an ioredis or node-redis instrumentation makes for the Redis commands underneath
 *   (`EVALSHA` ...): those are siblings, and report their own `db.client.operation.duration` with the command
 *   as `db.operation.name`. Tell the two apart by `db.operation.name`, or by `redis_lua_cache.label`, which
 *   only this module sets.
 * - Keys and values are never reported: they may hold personal data.
 *
 * # Examples
 * ```ts
 * import { instrumentRedisLuaCache } from 'redis-lua-cache/otel';
 *
 * sdk.start(); // your OpenTelemetry NodeSDK, or providers registered by hand
 * const instrumentation = instrumentRedisLuaCache();
 * // ... on shutdown:
 * instrumentation.stop();
 * ```
 */
export function instrumentRedisLuaCache(options: InstrumentationOptions = {}): RedisLuaCacheInstrumentation {
  if (active !== undefined) return active;
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE);
  const lookups = meter.createCounter(METRIC.lookups, { unit: '{lookup}', description: 'Cache lookups of reads and getOrSet, by result: hit, miss or stale.' });
  const operations = new OperationRecorder(
    tracer,
    meter.createHistogram(METRIC.operationDuration, {
      unit: 's',
      description: 'Duration of redis-lua-cache backend operations.',
      advice: { explicitBucketBoundaries: [...OPERATION_BUCKETS] },
    }),
    lookups,
  );
  const cache = new CacheRecorder({
    lookups,
    factoryDuration: meter.createHistogram(METRIC.factoryDuration, {
      unit: 's',
      description: 'Duration of the factories getOrSet runs.',
      advice: { explicitBucketBoundaries: [...WAIT_BUCKETS] },
    }),
    leaseWaitDuration: meter.createHistogram(METRIC.leaseWaitDuration, {
      unit: 's',
      description: "How long getOrSet waited for another caller's lease.",
      advice: { explicitBucketBoundaries: [...WAIT_BUCKETS] },
    }),
  });

  const operationHandlers = callSubscribers<OperationMessage, Running>(
    (message) => operations.begin(message),
    (message, running) => operations.finish(message, running),
  );
  const factoryHandlers = callSubscribers<FactoryMessage, number>(
    () => cache.factoryBegin(),
    (message, startedAt) => cache.factoryFinish(message, startedAt),
  );
  const onLookup = guarded((message: unknown) => cache.lookup(message as GetOrSetLookupMessage));
  const onLeaseWait = guarded((message: unknown) => cache.leaseWait(message as LeaseWaitMessage));

  const operationChannel = tracingChannel<unknown, OperationMessage>(OPERATION_CHANNEL);
  const factoryChannel = tracingChannel<unknown, FactoryMessage>(FACTORY_CHANNEL);
  operationChannel.subscribe(operationHandlers);
  factoryChannel.subscribe(factoryHandlers);
  channel(GET_OR_SET_CHANNEL).subscribe(onLookup);
  channel(LEASE_WAIT_CHANNEL).subscribe(onLeaseWait);

  const instrumentation: RedisLuaCacheInstrumentation = {
    stop(): void {
      if (active !== instrumentation) return;
      active = undefined;
      operationChannel.unsubscribe(operationHandlers);
      factoryChannel.unsubscribe(factoryHandlers);
      channel(GET_OR_SET_CHANNEL).unsubscribe(onLookup);
      channel(LEASE_WAIT_CHANNEL).unsubscribe(onLeaseWait);
    },
  };
  active = instrumentation;
  return instrumentation;
}

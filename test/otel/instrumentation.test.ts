// @drivers ioredis node-redis
/**
 * redis-lua-cache/otel with the real OpenTelemetry SDK (BasicTracerProvider + InMemorySpanExporter,
 * MeterProvider + InMemoryMetricExporter) against real redis-servers: a CLIENT span per operation (raw,
 * typed, many-key, getOrSet, run, invalidateTags) with its attributes, a child of the caller's span; error
 * spans (foreign data, a Redis error reply, a dead port, a wrong password); hit / miss / stale counts of reads
 * and getOrSet; factory durations; a lease wait between two backends; no credential in anything reported;
 * idempotence and stop(). Before anything subscribes, it checks that the backend builds no message.
 */
import { createHash } from 'node:crypto';

import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type ContextManager } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { instrumentRedisLuaCache, type RedisLuaCacheInstrumentation } from '../../src/adapters/otel/index.js';
import { factoryChannel, getOrSetChannel, leaseWaitChannel, operationChannel } from '../../src/core/diagnostics.js';
import { CacheKey, CacheValue, ConnectionMode, type RedisBackend, type ScriptDefinition } from '../../src/index.js';
import { builder, singleClient } from '../helpers/driver.js';
import { gate } from '../helpers/gate.js';
import { commandCalls, freePort, startRedis, type RedisUnderTest } from '../helpers/redis.js';
import { rejection } from '../helpers/settle.js';

// ---------------------------------------------------------------------------------------------------------
// Helpers

/** The least context manager that makes `context.with` work synchronously: spans start synchronously. */
class SyncContextManager implements ContextManager {
  #current: Context = ROOT_CONTEXT;
  active(): Context {
    return this.#current;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const previous = this.#current;
    this.#current = ctx;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.#current = previous;
    }
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    return this;
  }
}

const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
const meterProvider = new MeterProvider({ readers: [reader] });

interface Point {
  readonly name: string;
  readonly attributes: Record<string, unknown>;
  readonly value: number | Histogram;
}

/** Every data point collected so far (cumulative), by metric. */
async function collect(): Promise<Point[]> {
  metricExporter.reset();
  await reader.forceFlush();
  const exported = metricExporter.getMetrics().at(-1);
  const points: Point[] = [];
  for (const scope of exported?.scopeMetrics ?? []) {
    for (const metric of scope.metrics) {
      for (const point of metric.dataPoints as DataPoint<number | Histogram>[]) {
        points.push({ name: metric.descriptor.name, attributes: point.attributes, value: point.value });
      }
    }
  }
  return points;
}

/** The sum of a counter's points, or the count of a histogram's, whose attributes include `match`. */
async function total(name: string, match: Record<string, unknown>): Promise<number> {
  const points = (await collect()).filter((point) => point.name === name && Object.entries(match).every(([k, v]) => point.attributes[k] === v));
  return points.reduce((sum, point) => sum + (typeof point.value === 'number' ? point.value : point.value.count), 0);
}

function finished(name?: string): ReadableSpan[] {
  return spans.getFinishedSpans().filter((span) => name === undefined || span.name === name);
}

function only(name: string): ReadableSpan {
  const found = finished(name);
  assert.is(found.length, 1, `one span ${name}, got ${found.length}: ${finished().map((s) => s.name).join(', ')}`);
  return found[0]!;
}

let counter = 0;
const key = (name: string): CacheKey => new CacheKey('otel', 1, [{ key: 'k', value: `${name}-${++counter}` }]);
const later = (ms: number): Date => new Date(Date.now() + ms);

/** An application script, as the generator would describe it. */
function script(name: string, source: string, numberOfKeys: number): ScriptDefinition {
  return { name, source, sha1: createHash('sha1').update(source).digest('hex'), numberOfKeys, readOnly: false };
}

const counterAdd = script('counter_add', "return redis.call('INCRBY', KEYS[1], ARGV[1])", 1);
/** Fails with a Redis error reply of prefix BOOM. */
const failing = script('boom', "return redis.error_reply('BOOM the script failed')", 0);

// ---------------------------------------------------------------------------------------------------------

const test = suite<{ redis: RedisUnderTest; backend: RedisBackend; instrumentation: RedisLuaCacheInstrumentation }>('otel');

test.before(async (ctx) => {
  context.setGlobalContextManager(new SyncContextManager());
  ctx.redis = await startRedis();
  ctx.backend = builder().connection(ConnectionMode.single(`${ctx.redis.url}/2`)).label('sessions').build();
});

test.after(async (ctx) => {
  ctx.instrumentation?.stop();
  await ctx.backend.close();
  await ctx.redis.stop();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
});

test.after.each(() => spans.reset());

test('without a subscriber, no message is built and nothing is published', async (ctx) => {
  const calls: string[] = [];
  const spies = [
    [operationChannel, 'tracePromise'],
    [factoryChannel, 'tracePromise'],
    [getOrSetChannel, 'publish'],
    [leaseWaitChannel, 'publish'],
  ] as const;
  // Own properties over the prototype's methods (a channel changes its prototype when subscribed to: the
  // spy looks the method up at each call), deleted afterwards.
  for (const [target, method] of spies) {
    const prototype = Object.getPrototypeOf(target) as object;
    Object.defineProperty(target, method, {
      configurable: true,
      value(this: Record<string, (...args: unknown[]) => unknown>, ...args: unknown[]) {
        calls.push(method);
        return (Object.getPrototypeOf(this) as Record<string, (...args: unknown[]) => unknown>)[method]!.apply(this, args);
      },
    });
    assert.ok(method in prototype);
  }
  try {
    const k = key('quiet');
    await ctx.backend.set(k, new CacheValue('v', later(60_000)));
    await ctx.backend.get(k);
    await ctx.backend.getMany([k, key('quiet')]);
    await ctx.backend.getOrSet(key('quiet'), async () => 'computed', { ttl: 60_000 });
    await ctx.backend.getOrSet(k, async () => 'unused', { ttl: 60_000 });
    assert.equal(calls, []);
    assert.is(finished().length, 0);
    // Not vacuous: once subscribed, the same calls publish.
    const instrumentation = instrumentRedisLuaCache({ tracerProvider, meterProvider });
    await ctx.backend.getOrSet(key('loud'), async () => 'computed', { ttl: 60_000 });
    instrumentation.stop();
    assert.ok(calls.includes('tracePromise') && calls.includes('publish'), calls.join(', '));
  } finally {
    for (const [target, method] of spies) delete (target as unknown as Record<string, unknown>)[method];
  }
});

test('instrumenting: idempotent, for a backend built before the call', (ctx) => {
  ctx.instrumentation = instrumentRedisLuaCache({ tracerProvider, meterProvider });
  assert.is(instrumentRedisLuaCache(), ctx.instrumentation);
});

test('raw, typed and many-key operations: one CLIENT span each, with the semantic-convention attributes', async (ctx) => {
  const [a, b] = [key('a'), key('b')];
  await ctx.backend.write(a, new CacheValue(Buffer.from('raw'), later(60_000)));
  await ctx.backend.read(a);
  await ctx.backend.remove(a);
  await ctx.backend.set(a, new CacheValue({ n: 1 }, later(60_000)), { tags: ['t'] });
  await ctx.backend.get(a);
  await ctx.backend.invalidateTags(['t']);
  await ctx.backend.delete(a);
  await ctx.backend.writeMany([[a, new CacheValue(Buffer.from('1'))], [b, new CacheValue(Buffer.from('2'))]]);
  await ctx.backend.readMany([a, b]);
  await ctx.backend.removeMany([a, b]);
  await ctx.backend.setMany([[a, new CacheValue(1)], [b, new CacheValue(2)]]);
  await ctx.backend.getMany([a, b]);
  await ctx.backend.deleteMany([a]);
  const names = ['write', 'read', 'remove', 'set', 'get', 'invalidateTags', 'delete', 'writeMany', 'readMany', 'removeMany', 'setMany', 'getMany', 'deleteMany'];
  assert.equal(finished().map((span) => span.name), names);
  for (const span of finished()) {
    assert.is(span.kind, SpanKind.CLIENT, span.name);
    assert.is(span.status.code, SpanStatusCode.UNSET, span.name);
    assert.is(span.instrumentationScope.name, 'redis-lua-cache');
    assert.equal(
      { ...span.attributes },
      {
        'db.system.name': 'redis',
        'db.operation.name': span.name,
        'db.query.summary': span.name,
        'server.address': ctx.redis.host,
        'server.port': ctx.redis.port,
        'db.namespace': '2',
        'redis_lua_cache.label': 'sessions',
        ...(span.name.endsWith('Many') && span.name !== 'deleteMany' ? { 'db.operation.batch.size': 2 } : {}),
      },
      span.name,
    );
  }
  assert.ok((await total('db.client.operation.duration', { 'db.operation.name': 'getMany', 'redis_lua_cache.label': 'sessions', 'server.port': ctx.redis.port })) >= 1);
});

test('run: the span names the application script; it is a child of the caller span', async (ctx) => {
  const parent = tracerProvider.getTracer('test').startSpan('request');
  const reply = await context.with(trace.setSpan(context.active(), parent), () => ctx.backend.run(counterAdd, ['otel:counter', 2]));
  parent.end();
  assert.is(String(reply), '2');
  const span = only('run counter_add');
  assert.is(span.attributes['db.operation.name'], 'run');
  assert.is(span.attributes['db.stored_procedure.name'], 'counter_add');
  assert.is(span.parentSpanContext?.spanId, parent.spanContext().spanId);
  assert.is(span.spanContext().traceId, parent.spanContext().traceId);
});

test('a failure: status ERROR, the exception, error.type, and the Redis error prefix', async (ctx) => {
  const k = key('foreign');
  await ctx.redis.admin.select(2);
  await ctx.redis.admin.set(ctx.backend.keyFormat().encode(k), 'not a cache entry');
  const error = await rejection(ctx.backend.get(k));
  assert.is(error.name, 'ForeignDataError');
  const span = only('get');
  assert.is(span.status.code, SpanStatusCode.ERROR);
  assert.is(span.status.message, error.message);
  assert.is(span.attributes['error.type'], 'FOREIGN_DATA');
  const exception = span.events.find((event) => event.name === 'exception');
  // The SDK names an exception by its code when it has one, as error.type does.
  assert.is(exception?.attributes?.['exception.type'], 'FOREIGN_DATA');
  assert.is(exception?.attributes?.['exception.message'], error.message);
  assert.ok((await total('db.client.operation.duration', { 'db.operation.name': 'get', 'error.type': 'FOREIGN_DATA' })) >= 1);

  const scriptError = await rejection(ctx.backend.run(failing, []));
  assert.is(scriptError.name, 'ScriptError');
  const failed = only('run boom');
  assert.is(failed.attributes['db.response.status_code'], 'BOOM');
  assert.is(failed.attributes['error.type'], 'SCRIPT');
  // A refusal before anything is sent is a failed operation too.
  await rejection(ctx.backend.getOrSet(k, async () => 1, { ttl: -1 }));
  assert.is(only('getOrSet').attributes['error.type'], 'INVALID_OPTION');
});

test('a dead server: ConnectionError span', async () => {
  const port = await freePort();
  const dead = builder().connection(ConnectionMode.single(`redis://127.0.0.1:${port}`)).retries(0).connectionTimeout(1_000).build();
  try {
    await rejection(dead.set(key('dead'), new CacheValue(1)));
  } finally {
    await dead.close();
  }
  const span = only('set');
  assert.is(span.status.code, SpanStatusCode.ERROR);
  assert.is(span.attributes['error.type'], 'CONNECTION');
  assert.is(span.attributes['server.port'], port);
  assert.is(span.attributes['redis_lua_cache.label'], 'redis');
});

test('server.address and server.port: a cluster names its first seed; a given client names none', async (ctx) => {
  const [first, second] = [await freePort(), await freePort()];
  const cluster = builder().connection(ConnectionMode.cluster([`redis://127.0.0.1:${first}`, `redis://127.0.0.1:${second}`])).retries(0).connectionTimeout(1_000).build();
  const owned = await singleClient({ host: ctx.redis.host, port: ctx.redis.port });
  const given = builder().client(owned.client).label('given').build();
  try {
    await rejection(cluster.get(key('cluster')));
    await given.get(key('given'));
  } finally {
    await cluster.close();
    await given.close();
    await owned.close();
  }
  const [clustered, client] = finished('get');
  assert.is(clustered!.attributes['server.address'], '127.0.0.1');
  assert.is(clustered!.attributes['server.port'], first);
  assert.not.ok('db.namespace' in clustered!.attributes);
  assert.equal({ ...client!.attributes }, { 'db.system.name': 'redis', 'db.operation.name': 'get', 'db.query.summary': 'get', 'redis_lua_cache.label': 'given' });
});

test('hit, miss and stale counts of reads and getOrSet; factory durations', async (ctx) => {
  const labelled = { 'redis_lua_cache.label': 'sessions' };
  const count = (operation: string, result: string) => total('redis_lua_cache.lookups', { ...labelled, 'db.operation.name': operation, 'redis_lua_cache.lookup.result': result });
  const before = { getHit: await count('get', 'hit'), getMiss: await count('get', 'miss'), getStale: await count('get', 'stale'), readManyMiss: await count('readMany', 'miss') };
  const before2 = { hit: await count('getOrSet', 'hit'), miss: await count('getOrSet', 'miss'), stale: await count('getOrSet', 'stale') };
  const factories = { computed: await total('redis_lua_cache.factory.duration', { ...labelled, 'redis_lua_cache.factory.refresh': false }), refreshed: await total('redis_lua_cache.factory.duration', { ...labelled, 'redis_lua_cache.factory.refresh': true }) };

  const [fresh, stale, missing] = [key('fresh'), key('stale'), key('missing')];
  await ctx.backend.set(fresh, new CacheValue('f', later(60_000)));
  await ctx.backend.set(stale, new CacheValue('s', later(60_000), new Date(Date.now() - 1)));
  await ctx.backend.get(fresh);
  await ctx.backend.get(stale);
  await ctx.backend.get(missing);
  await ctx.backend.readMany([missing, fresh, key('missing')]);
  assert.is((await count('get', 'hit')) - before.getHit, 1);
  assert.is((await count('get', 'stale')) - before.getStale, 1);
  assert.is((await count('get', 'miss')) - before.getMiss, 1);
  assert.is((await count('readMany', 'miss')) - before.readManyMiss, 2);

  const cold = key('cold');
  assert.is(await ctx.backend.getOrSet(cold, async () => 'computed', { ttl: 60_000 }), 'computed');
  assert.is(await ctx.backend.getOrSet(cold, async () => 'unused', { ttl: 60_000 }), 'computed');
  const refreshed = gate();
  assert.is(
    await ctx.backend.getOrSet(
      stale,
      async () => {
        refreshed.open();
        return 'refreshed';
      },
      { ttl: 60_000, softTimeout: 1_000 },
    ),
    'refreshed',
  );
  await refreshed.promise;
  assert.is((await count('getOrSet', 'miss')) - before2.miss, 1);
  assert.is((await count('getOrSet', 'hit')) - before2.hit, 1);
  assert.is((await count('getOrSet', 'stale')) - before2.stale, 1);
  assert.is((await total('redis_lua_cache.factory.duration', { ...labelled, 'redis_lua_cache.factory.refresh': false })) - factories.computed, 1);
  assert.is((await total('redis_lua_cache.factory.duration', { ...labelled, 'redis_lua_cache.factory.refresh': true })) - factories.refreshed, 1);
  // A failing factory is measured with its error.type.
  await rejection(ctx.backend.getOrSet(key('failing'), async () => { throw new TypeError('no source'); }, { ttl: 60_000 }));
  assert.is(await total('redis_lua_cache.factory.duration', { 'error.type': 'TypeError' }), 1);
  const failed = finished('getOrSet').at(-1)!;
  assert.is(failed.status.code, SpanStatusCode.ERROR);
  assert.is(failed.attributes['error.type'], 'TypeError');
});

test('a lease wait: a second backend polls while the first computes, and is measured', async (ctx) => {
  const other = builder().connection(ConnectionMode.single(`${ctx.redis.url}/2`)).label('sessions').build();
  try {
    const before = await total('redis_lua_cache.lease.wait.duration', { 'redis_lua_cache.label': 'sessions', 'redis_lua_cache.lease.wait.outcome': 'value' });
    const k = key('contended');
    const started = gate();
    const release = gate();
    // The first backend takes the lease and computes until released.
    const holder = async (): Promise<string> => {
      started.open();
      await release.promise;
      return 'first';
    };
    const first = ctx.backend.getOrSet(k, holder, { ttl: 60_000 });
    await started.promise;
    const leases = (await commandCalls(ctx.redis.admin)).evalsha ?? 0;
    const second = other.getOrSet(k, async () => 'second', { ttl: 60_000 });
    // Once the server answered the second caller's read_or_lease (an EVALSHA: the lease is held), it waits.
    while (((await commandCalls(ctx.redis.admin)).evalsha ?? 0) === leases) await new Promise((resolve) => setImmediate(resolve));
    release.open();
    assert.equal(await Promise.all([first, second]), ['first', 'first']);
    const waits = (await collect()).filter((point) => point.name === 'redis_lua_cache.lease.wait.duration' && point.attributes['redis_lua_cache.lease.wait.outcome'] === 'value');
    assert.is(waits.reduce((sum, point) => sum + (point.value as Histogram).count, 0) - before, 1);
    assert.ok((waits[0]!.value as Histogram).sum! > 0);
  } finally {
    await other.close();
  }
});

test('stop(): nothing is reported any more; instrumenting again reports once', async (ctx) => {
  ctx.instrumentation.stop();
  ctx.instrumentation.stop();
  const before = await total('db.client.operation.duration', { 'db.operation.name': 'get' });
  await ctx.backend.get(key('after-stop'));
  assert.is(finished().length, 0);
  assert.is(await total('db.client.operation.duration', { 'db.operation.name': 'get' }), before);
  ctx.instrumentation = instrumentRedisLuaCache({ tracerProvider, meterProvider });
  instrumentRedisLuaCache({ tracerProvider, meterProvider });
  await ctx.backend.get(key('again'));
  assert.is(finished().length, 1);
  assert.is(await total('db.client.operation.duration', { 'db.operation.name': 'get' }), before + 1);
});

test('no password in any attribute, event or status: a right one, and a wrong one', async () => {
  const password = 'otel-s3cret-password';
  const wrong = 'otel-wr0ng-password';
  const secured = await startRedis({ args: ['--requirepass', password], adminPassword: password });
  const good = builder().connection(ConnectionMode.single(`redis://:${password}@${secured.host}:${secured.port}`)).build();
  const bad = builder().connection(ConnectionMode.single(`redis://default:${wrong}@${secured.host}:${secured.port}`)).retries(0).build();
  try {
    const k = key('secured');
    await good.set(k, new CacheValue('v', later(60_000)));
    await good.getOrSet(k, async () => 'v', { ttl: 60_000 });
    const error = await rejection(bad.get(k));
    assert.is(error.name, 'AuthenticationError');
  } finally {
    await good.close();
    await bad.close();
    await secured.stop();
  }
  const reported = JSON.stringify(finished().map((span) => ({ name: span.name, attributes: span.attributes, events: span.events, status: span.status })));
  assert.ok(reported.includes('AUTHENTICATION'), reported);
  assert.ok(reported.includes(String(secured.port)));
  assert.not.ok(reported.includes(password), reported);
  assert.not.ok(reported.includes(wrong), reported);
  const points = JSON.stringify(await collect());
  assert.not.ok(points.includes(password) || points.includes(wrong));
});

test.run();
